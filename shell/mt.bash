# shellcheck shell=bash
# mt's bash hook. Install with, in ~/.bashrc:  eval "$(mt init bash)"
#
# Records every interactive command line (text, start, duration, exit
# status, pipe statuses, cwd) by appending one line to this shell's spool
# file with builtins only: no process is forked per command. The daemon
# resolves the branch and stores it; see docs/spool-format.md.

# Interactive shells only (bash -c and BASH_ENV install nothing), once per
# shell, and bash 4.4 or newer (PS0).
[[ $- == *i* ]] || return 0
[[ -z ${__mt_installed-} ]] || return 0
((BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 4))) || return 0
__mt_installed=1

__mt_bin=@MT_BIN@
__mt_spool=@MT_SPOOL@
__mt_nul=
__mt_start=
__mt_hn=

# Microsecond clock without a fork: EPOCHREALTIME (bash 5) always has six
# decimals, whatever the locale's decimal mark; bash 4.4 falls back to
# whole seconds from SECONDS (the `:=` below, where EPOCHREALTIME is empty).
# shellcheck disable=SC2016 # expanded later, inside PS0
if [[ -n ${EPOCHREALTIME-} ]]; then
    __mt_clock='${EPOCHREALTIME//[^0-9]/}'
else
    printf -v __mt_base '%(%s)T' -1
    __mt_base=$((__mt_base - SECONDS))
    __mt_clock='((__mt_base + SECONDS) * 1000000)'
fi
__mt_t=${EPOCHREALTIME//[^0-9]/}
: "${__mt_t:=$(((__mt_base + SECONDS) * 1000000))}"
__mt_sid=$$-$__mt_t
__mt_file=$__mt_spool/h-$__mt_sid.log
# The scratch file for `fc` lives in the private runtime dir (tmpfs where
# XDG_RUNTIME_DIR is set), and is never truncated (see below).
__mt_tmp=@MT_SCRATCH@/.t-$$
# The session, for `mt exec` runs started from this shell. Per shell, not
# per command: a nested shell sets its own.
export MT_SESSION=$__mt_sid
# When the command before this one started (its record's `t`), for `mt
# doctor` and `mt status` to check that this very shell recorded it: PS0
# moves it along at every command, without a fork.
__mt_began=0
export MT_PREV=0

@MT_COMMON@
__mt_prompt_state 2>/dev/null

# The last history entry as "NUMBER<TAB> TEXT", through a file: $(...) would
# fork. The file is overwritten in place and the entry ended with a NUL,
# never truncated: where the file is on a disk, truncating it cost ~0.19 ms
# a command, writing in place 0.013 ms. (It grows to the longest entry.)
__mt_last_history() {
    __mt_h=
    {
        builtin fc -l -1 || return 0
        printf '\0'
    } 1<>"$__mt_tmp"
    IFS= read -r -d '' __mt_h <"$__mt_tmp" || :
}
__mt_last_history 2>/dev/null
__mt_hn=${__mt_h%%[^0-9]*}
__mt_htext=${__mt_h#*$'\t'} __mt_htext=${__mt_htext# } __mt_htext=${__mt_htext%$'\n'}

# Did the user ask for space-prefixed lines to stay private? Read at load,
# at the first prompt before anything else runs, and at every prompt until
# seen, then kept: bash-preexec (and atuin, which embeds it) removes
# ignorespace from HISTCONTROL at its first prompt, and the rc file may set
# HISTCONTROL after mt's line. `*ignore[sb][po]*` is ignorespace or
# ignoreboth.
__mt_private_space=
__mt_note_private() {
    [[ -n $__mt_private_space || ${HISTCONTROL-} != *ignore[sb][po]* ]] || __mt_private_space=1
}
__mt_note_private
# The first prompt's one-shot, put first in PROMPT_COMMAND: it runs before
# bash-preexec's installer (which appends itself), whatever the order of the
# rc file, then removes itself.
# shellcheck disable=SC2178,SC2128 # one branch per type of PROMPT_COMMAND
__mt_first_prompt() {
    local st=$?
    __mt_note_private
    if [[ -n ${PROMPT_COMMAND+set} && ${PROMPT_COMMAND@a} == *a* ]]; then
        local i
        for i in "${!PROMPT_COMMAND[@]}"; do
            [[ ${PROMPT_COMMAND[i]} != __mt_first_prompt ]] || unset 'PROMPT_COMMAND[i]'
        done
    else
        PROMPT_COMMAND=${PROMPT_COMMAND/__mt_first_prompt$'\n'/}
    fi
    return "$st"
}
# shellcheck disable=SC2128,SC2178 # one branch per type of PROMPT_COMMAND
if [[ -n ${PROMPT_COMMAND+set} && ${PROMPT_COMMAND@a} == *a* ]]; then
    PROMPT_COMMAND=(__mt_first_prompt "${PROMPT_COMMAND[@]}")
else
    PROMPT_COMMAND=__mt_first_prompt$'\n'${PROMPT_COMMAND-}
fi

# The command ended with status $1 and pipe statuses $2: append its record
# and take the state the next one starts from. This runs at every prompt,
# so it is one function, inline: in an interactive bash each function call
# or statement costs a few microseconds, about what a file open does
# (BENCHMARKS.md). `*ignore[sb][po]*` is ignorespace or ignoreboth.
#
# Errors are silenced by closing stderr: a duplicate, where `2>/dev/null`
# would be a file open. (A descriptor kept open would be inherited by every
# command: bash cannot mark it close-on-exec without a loadable builtin.)
__mt_ended() {
    {
        if [[ -z ${MT_DISABLE-} || $MT_DISABLE == 0 ]]; then
            __mt_t=${EPOCHREALTIME//[^0-9]/}
            : "${__mt_t:=$(((__mt_base + SECONDS) * 1000000))}"
            local hn cmd
            # __mt_note_private, inline: a call costs as much as the test.
            [[ -n $__mt_private_space || ${HISTCONTROL-} != *ignore[sb][po]* ]] || __mt_private_space=1
            if [[ -n ${3+set} ]]; then
                # ble.sh hands over the line exactly as typed.
                __mt_line_as_typed "$3"
                cmd=$__mt_e hn=$__mt_hn
            else
                __mt_last_history
                hn=${__mt_h%%[^0-9]*} cmd=${__mt_h#*$'\t'}
                cmd=${cmd# } cmd=${cmd%$'\n'}
            fi
            # bash gives a line's text only through its history. Neither
            # the last entry's number nor its text moved: history did not
            # keep this line (ignorespace, HISTIGNORE, `set +o history`,
            # HISTSIZE=0, an ignoredups repeat), so mt keeps no text for it
            # either. Only the number stayed: erasedups moved an earlier
            # entry to the end, and that is this line. A space-prefixed line
            # that reached history anyway (bash-preexec rewrote HISTCONTROL)
            # is still private.
            local seen=$__mt_htext
            __mt_htext=$cmd
            if [[ -z ${3+set} && $hn == "$__mt_hn" && $cmd == "$seen" ]] ||
                [[ -n $__mt_private_space && $cmd == [[:space:]]* ]]; then
                cmd=
            elif [[ $cmd == *[$'\\\t\n\r']* ]]; then
                __mt_esc "$cmd"
                cmd=$__mt_e
            fi
            __mt_hn=$hn
            printf 'mt1\tH\tid=%s:%s\tsid=%s\tpid=%s\tt=%s\tdur=%s\texit=%s\tps=%s\thn=%s\tcwd=%s%s\tcmd=%s\t.\n' \
                "$__mt_sid" "$__mt_start" "$__mt_sid" "$$" "$__mt_start" "$((__mt_t - __mt_start))" "$1" "$2" "$hn" "$__mt_cwd" "$__mt_git" "$cmd" \
                >>"$__mt_file" || :
        fi
        __mt_start=
        if [[ $PWD != "$__mt_pwd" ]]; then
            __mt_prompt_state
        elif [[ -n $__mt_root ]]; then
            # Same directory: only HEAD can have moved.
            IFS= read -r __mt_h <"$__mt_gitdir/HEAD" || :
            [[ $__mt_h == "$__mt_headtxt" ]] || __mt_prompt_state
        fi
    } 2>&-
}

# The text of a line ble.sh handed over, in __mt_e: none for a line the
# user asked history to ignore (a leading space under ignorespace, a
# HISTIGNORE pattern), as it would be without ble.sh.
__mt_line_as_typed() {
    __mt_e=$1
    [[ -n $__mt_private_space && $1 == [[:space:]]* ]] && __mt_e=
    local pat rest=${HISTIGNORE-}
    while [[ -n $rest && -n $__mt_e ]]; do
        pat=${rest%%:*}
        if [[ $rest == *:* ]]; then rest=${rest#*:}; else rest=; fi
        # shellcheck disable=SC2053 # HISTIGNORE's patterns are globs
        [[ -n $pat && $pat != '&' && $1 == $pat ]] && __mt_e=
    done
    return 0
}

# ble.sh (akinomyoga/ble.sh) runs each command line itself: it hands the
# line to PREEXEC hooks and runs POSTEXEC hooks with the command's `$?` and
# its pipe statuses in BLE_PIPESTATUS, where PROMPT_COMMAND sees a PIPESTATUS
# of one element. With ble.sh loaded (before mt's line or after it, attached
# or not) mt records through those hooks and leaves PROMPT_COMMAND and PS0
# alone.
__mt_ble=
__mt_ble_preexec() {
    __mt_start=${EPOCHREALTIME//[^0-9]/}
    : "${__mt_start:=$(((__mt_base + SECONDS) * 1000000))}"
    MT_PREV=$__mt_began __mt_began=$__mt_start
    return 0
}
__mt_ble_postexec() {
    # shellcheck disable=SC2124 # joined with spaces whatever IFS is (below)
    local st=$? ps="${BLE_PIPESTATUS[@]-}"
    [[ -z $__mt_start ]] || __mt_ended "$st" "${ps:-$st}" "$1"
    return 0
}
__mt_use_ble() {
    [[ -z $__mt_ble ]] && declare -F blehook >/dev/null 2>&1 || return 1
    blehook PREEXEC+=__mt_ble_preexec
    blehook POSTEXEC+=__mt_ble_postexec
    __mt_ble=1
}

# Keep the status capture where nothing can clobber it. With bash-preexec
# (standalone or inside atuin) mt is one of its precmd_functions and reads
# the statuses it saved; bash-preexec moves itself first in PROMPT_COMMAND
# at every prompt, so competing for that place would only fight it.
# Otherwise mt's hook must run first in PROMPT_COMMAND: a tool loaded later
# (starship wraps PROMPT_COMMAND in its own function; direnv and zoxide
# prepend) is followed by putting mt first again. Any copy of the hook left
# behind in another tool's variable finds nothing pending and passes $? on.
__mt_keep_first() {
    # bash-preexec sets these when it loads (a variable test: no
    # `>/dev/null`, which would be a file open at every prompt).
    if [[ -n ${bash_preexec_imported-}${__bp_imported-} ]]; then
        # shellcheck disable=SC2199 # [@] joins with spaces here, whatever IFS is
        [[ " ${precmd_functions[@]-} " == *" __mt_bp_precmd "* ]] ||
            precmd_functions=(__mt_bp_precmd "${precmd_functions[@]}")
        return 0
    fi
    # shellcheck disable=SC2016,SC2128,SC2178 # "$_" expands at each prompt; one branch per type
    if [[ -n ${PROMPT_COMMAND+set} && ${PROMPT_COMMAND@a} == *a* ]]; then
        [[ ${PROMPT_COMMAND[0]} == '__mt_precmd "$_"' ]] ||
            PROMPT_COMMAND=('__mt_precmd "$_"' "${PROMPT_COMMAND[@]}")
    elif [[ ${PROMPT_COMMAND-} != '__mt_precmd "$_"'* ]]; then
        PROMPT_COMMAND='__mt_precmd "$_"'${PROMPT_COMMAND:+$'\n'${PROMPT_COMMAND-}}
    fi
}

# Runs first at each prompt, called as `__mt_precmd "$_"` so that `$_`
# and `$?` are what they were for whatever runs after it.
__mt_precmd() {
    # `"${a[@]}"` assigned to a string joins with spaces whatever IFS is;
    # `[*]` would join with IFS's first character (a newline under the
    # "strict mode" IFS=$'\n\t' would cut the record in two).
    # shellcheck disable=SC2124
    local __mt_st=$? __mt_ps="${PIPESTATUS[@]}"
    [[ -z $__mt_ble ]] || return "$__mt_st"
    if [[ -n ${BLE_VERSION-} ]]; then
        # ble.sh came after mt's line: this command's statuses are in its
        # array, and from now on its hooks record.
        # shellcheck disable=SC2124 # space-joined, as above
        [[ -z ${BLE_PIPESTATUS+set} ]] || __mt_ps="${BLE_PIPESTATUS[@]}"
        [[ -z $__mt_start ]] || __mt_ended "$__mt_st" "$__mt_ps"
        __mt_use_ble
        return "$__mt_st"
    fi
    if [[ -n $__mt_start ]]; then
        # Called from inside starship's wrapper (it was loaded after the
        # first prompt): its copies are the real statuses.
        # shellcheck disable=SC2199 # [@] joins with spaces here, whatever IFS is
        if [[ -n ${STARSHIP_CMD_STATUS-} && " ${FUNCNAME[@]} " == *" starship_precmd "* ]]; then
            # shellcheck disable=SC2124,SC2154 # space-joined, as above; starship sets it
            __mt_st=$STARSHIP_CMD_STATUS __mt_ps="${STARSHIP_PIPE_STATUS[@]}"
        fi
        __mt_ended "$__mt_st" "$__mt_ps"
    fi
    # shellcheck disable=SC2016,SC2128 # "$_" expands at each prompt; element 0 of an array
    [[ -z ${bash_preexec_imported-}${__bp_imported-} && ${PROMPT_COMMAND-} == '__mt_precmd "$_"'* ]] ||
        __mt_keep_first
    # Under errexit a failing precmd would end the shell.
    [[ $- != *e* ]] || return 0
    return "$__mt_st"
}

# The same, as one of bash-preexec's precmd_functions.
__mt_bp_precmd() {
    if [[ -n $__mt_start ]]; then
        # shellcheck disable=SC2124 # space-joined, as above
        local ps="${BP_PIPESTATUS[@]-}"
        __mt_ended "${__bp_last_ret_value-0}" "$ps"
    fi
    return 0
}

# Start of a command: PS0 is expanded after a line is read and before it
# runs (not for an empty line or Ctrl-C at the prompt). An arithmetic side
# effect sets the start time and expands to nothing.
# End of a command: first in PROMPT_COMMAND, whether it is a string (joined
# with a newline, so a trailing ';' is harmless) or an array (bash 5.1+), or
# one of bash-preexec's precmd_functions when it is loaded. With ble.sh
# loaded already, its hooks instead.
if [[ -z ${BLE_VERSION-} ]] || ! __mt_use_ble; then
    # shellcheck disable=SC2016 # expanded by bash at each command, not now
    PS0=${PS0-}'${__mt_nul:$((MT_PREV = __mt_began, __mt_began = __mt_start = '$__mt_clock', 0)):0}'
    __mt_keep_first
fi

# Make sure a daemon runs: once per shell, in the background, silently.
if [[ -z ${MT_NO_AUTOSTART-} && ${CI-} != true && -z ${MT_DISABLE-} ]]; then
    ("$__mt_bin" daemon start >/dev/null 2>&1 &)
fi
