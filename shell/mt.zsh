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
typeset -g __mt_start= __mt_cmd= __mt_t= __mt_e= __mt_root= __mt_headtxt= __mt_cwd= __mt_git= __mt_pwd= __mt_gitdir=

# Microseconds since the epoch from EPOCHREALTIME, by string surgery: the
# number of fraction digits varies, and float math would round.
__mt_now() {
    local s=${EPOCHREALTIME%%[.,]*} f=${EPOCHREALTIME#*[.,]}000000
    __mt_t=$s${f[1,6]}
}
__mt_now
typeset -g __mt_sid=$$-$__mt_t
typeset -g __mt_file=$__mt_spool/h-$__mt_sid.log
export MT_SESSION=$__mt_sid

@MT_COMMON@
__mt_prompt_state 2>/dev/null

__mt_preexec() {
    __mt_now
    __mt_start=$__mt_t
    # preexec sees space-prefixed lines even under HIST_IGNORE_SPACE: keep
    # the run, drop the text.
    if [[ -o histignorespace && $1 == ' '* ]]; then
        __mt_cmd=
    else
        __mt_cmd=$1
    fi
}

__mt_precmd() {
    local st=$? ps="${pipestatus[*]}"
    # One redirection for the whole record: each is a file open.
    {
        if [[ -n $__mt_start && (-z ${MT_DISABLE-} || ${MT_DISABLE-} == 0) ]]; then
            __mt_now
            local start=$__mt_start dur=$((__mt_t - __mt_start)) cmd
            __mt_esc "$__mt_cmd"
            cmd=$__mt_e
            print -rn -- "mt1"$'\t'"H"$'\t'"id=$__mt_sid:$start"$'\t'"sid=$__mt_sid"$'\t'"pid=$$"$'\t'"t=$start"$'\t'"dur=$dur"$'\t'"exit=$st"$'\t'"ps=$ps"$'\t'"cwd=$__mt_cwd$__mt_git"$'\t'"cmd=$cmd"$'\t'"."$'\n' >>"$__mt_file" || :
        fi
        __mt_start=
        __mt_prompt_state
    } 2>/dev/null
    return $st
}

# First in line: $? and $pipestatus are still the command's.
add-zsh-hook precmd __mt_precmd
precmd_functions=(__mt_precmd ${precmd_functions:#__mt_precmd})
add-zsh-hook preexec __mt_preexec

if [[ -z ${MT_NO_AUTOSTART-} && ${CI-} != true && -z ${MT_DISABLE-} ]]; then
    ("$__mt_bin" daemon start >/dev/null 2>&1 &)
fi
