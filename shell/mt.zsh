# mt's zsh hook. Install with, in ~/.zshrc:  eval "$(mt init zsh)"
#
# Records every interactive command line (text, start, duration, exit
# status, pipe statuses, cwd) by appending one line to this shell's spool
# file with builtins only: no process is forked per command.

[[ -o interactive ]] || return 0
(( ${+__mt_installed} )) && return 0
typeset -g __mt_installed=1

zmodload zsh/datetime 2>/dev/null || return 0
autoload -Uz add-zsh-hook

typeset -g __mt_bin=@MT_BIN@
typeset -g __mt_spool=@MT_SPOOL@
typeset -g __mt_start= __mt_cmd= __mt_e= __mt_root= __mt_headtxt= __mt_cwd= __mt_git= __mt_pwd= __mt_gitdir=

# Microseconds since the epoch from EPOCHREALTIME, by string surgery: the
# number of fraction digits varies, and float math would round.
() {
    local e=$EPOCHREALTIME
    local f=${e#*[.,]}000000
    typeset -g __mt_sid=$$-${e%%[.,]*}${f[1,6]}
}
typeset -g __mt_file=$__mt_spool/h-$__mt_sid.log
export MT_SESSION=$__mt_sid
# When the command before this one started (its record's `t`), for `mt
# doctor` and `mt status` to check that this very shell recorded it.
typeset -g __mt_began=0
export MT_PREV=0

@MT_COMMON@
__mt_prompt_state 2>/dev/null

# Each shell function call costs zsh ~10 µs, more than a file open, so the
# two hooks do their work inline and call out only on a change of directory
# (and, once, to open the spool file).

__mt_preexec() {
    emulate -L zsh
    # One read of the clock: two could straddle a second.
    local e=$EPOCHREALTIME
    local f=${e#*[.,]}000000
    __mt_start=${e%%[.,]*}${f[1,6]}
    MT_PREV=$__mt_began __mt_began=$__mt_start
    # A later `precmd_functions=(…)` in ~/.zshrc dropped mt's: back first.
    (( ${precmd_functions[(Ie)__mt_precmd]} )) || precmd_functions=(__mt_precmd $precmd_functions)
    # preexec sees space-prefixed lines even under HIST_IGNORE_SPACE: keep
    # the run, drop the text.
    if [[ -o histignorespace && $1 == ' '* ]]; then
        __mt_cmd=
    else
        __mt_cmd=$1
    fi
}

# Each record opens the spool file, appends and closes it: mt holds no
# descriptor across prompts. zsh-autosuggestions 0.7 keeps the number of a
# descriptor it closed, and later, finding that number open again (it was
# free, so the next one opened took it), closes it and removes a handler it
# never had ("No handler installed for fd 12"): a descriptor of mt's kept
# open would be closed under it and the terminal would show the error at
# every prompt. One open a command is the price (BENCHMARKS.md).

__mt_precmd() {
    # Joined with spaces explicitly: `[*]` joins with IFS's first character.
    local st=$? ps=${(j: :)pipestatus[@]}
    # zsh's defaults inside mt's functions, whatever the user's options
    # (KSH_ARRAYS, NO_CLOBBER, WARN_NESTED_VAR…): local to this function.
    emulate -L zsh
    # And the other way round: a reassigned preexec_functions.
    (( ${preexec_functions[(Ie)__mt_preexec]} )) || preexec_functions+=(__mt_preexec)
    # Errors are silenced by closing stderr for the record: a duplicate,
    # where `2>/dev/null` would be a file open.
    {
        if [[ -n $__mt_start && (-z ${MT_DISABLE-} || ${MT_DISABLE-} == 0) ]]; then
            local e=$EPOCHREALTIME
            local f=${e#*[.,]}000000
            local start=$__mt_start dur=$((${e%%[.,]*}${f[1,6]} - __mt_start))
            local cmd=$__mt_cmd
            if [[ $cmd == *[$'\\\t\n\r']* ]]; then
                __mt_esc "$cmd"
                cmd=$__mt_e
            fi
            local rec="mt1"$'\t'"H"$'\t'"id=$__mt_sid:$start"$'\t'"sid=$__mt_sid"$'\t'"pid=$$"$'\t'"t=$start"$'\t'"dur=$dur"$'\t'"exit=$st"$'\t'"ps=$ps"$'\t'"cwd=$__mt_cwd$__mt_git"$'\t'"cmd=$cmd"$'\t'"."$'\n'
            print -rn -- "$rec" >>"$__mt_file"
        fi
        __mt_start=
        if [[ $PWD == "$__mt_pwd" && -n $__mt_root ]]; then
            # Same directory: only HEAD can have moved (read inline with
            # `$(<…)`, which zsh does without a fork in two reads where
            # `read` takes one per byte; the common function does the rest
            # when it did).
            [[ $(<"$__mt_gitdir/HEAD") == "$__mt_headtxt" ]] || __mt_prompt_state
        elif [[ $PWD != "$__mt_pwd" ]]; then
            __mt_prompt_state
        fi
    } 2>&-
    return $st
}

# First in line: $? and $pipestatus are still the command's.
add-zsh-hook precmd __mt_precmd
precmd_functions=(__mt_precmd ${precmd_functions:#__mt_precmd})
add-zsh-hook preexec __mt_preexec

if [[ -z ${MT_NO_AUTOSTART-} && ${CI-} != true && -z ${MT_DISABLE-} ]]; then
    ("$__mt_bin" daemon start >/dev/null 2>&1 &)
fi
