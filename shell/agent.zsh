# mt's agent environment for zsh (`mt init agent` points ZDOTDIR at the
# directory holding this file as .zshenv).
#
# Every zsh reads $ZDOTDIR/.zshenv, `zsh -c CMD` included: this one puts
# the user's ZDOTDIR back first (so their own startup files are read, and
# the shells the command starts never come here), then, for a command an
# agent runs, records it — text, start, duration, exit status, pipe
# statuses, cwd — with builtins only, from an EXIT trap. The daemon finds
# the branch from the cwd and the worktree's HEAD reflog.

# (Never this directory again: an environment set up twice would loop.)
if [[ -n ${__MT_ZDOTDIR-} && $__MT_ZDOTDIR != @MT_ZDOT@ ]]; then
    export ZDOTDIR=$__MT_ZDOTDIR
else
    unset ZDOTDIR
fi
unset __MT_ZDOTDIR

__mt_agent_record() {
    [[ -o interactive || -z ${ZSH_EXECUTION_STRING-} ]] && return 1
    [[ -n ${MT_DISABLE-} && $MT_DISABLE != 0 ]] && return 1
    local pc=
    { IFS= read -r pc </proc/$PPID/comm; } 2>/dev/null
    case $pc in bash | zsh | sh | dash | fish | ksh | mksh | busybox) return 1 ;; esac
    return 0
}

if __mt_agent_record; then
    # What the command runs is not the agent's own command.
    unset BASH_ENV
    zmodload zsh/datetime 2>/dev/null
    __mt_a_now() {
        local e=$EPOCHREALTIME
        local f=${e#*[.,]}000000
        REPLY=${e%%[.,]*}${f[1,6]}
    }
    __mt_a_now
    __mt_start=$REPLY
    __mt_cwd=$PWD
    # The worktree and HEAD now, from .git (a `git switch` the agent ran a
    # moment ago is in HEAD, not yet in a second of the reflog of its own).
    __mt_root= __mt_head=
    () {
        local d=$PWD g
        while [[ -n $d ]]; do
            if [[ -e $d/.git ]]; then
                g=$d/.git
                if [[ -f $g ]]; then
                    { IFS= read -r g <"$g"; } 2>/dev/null
                    g=${g#gitdir: }
                    [[ $g == /* ]] || g=$d/$g
                fi
                { IFS= read -r __mt_head <"$g/HEAD"; } 2>/dev/null
                __mt_root=${d:-/}
                return
            fi
            d=${d%/*}
        done
    }
    if [[ -n ${MT_AGENT-} ]]; then __mt_agent=$MT_AGENT
    elif [[ -n ${CLAUDE_CODE_CHILD_SESSION-}${CLAUDECODE-} ]]; then __mt_agent=claude-code
    elif [[ -n ${CODEX_THREAD_ID-}${CODEX_SANDBOX-}${CODEX_CI-}${CODEX_SANDBOX_NETWORK_DISABLED-} ]]; then __mt_agent=codex
    elif [[ -n ${GEMINI_CLI-} ]]; then __mt_agent=gemini-cli
    elif [[ -n ${CURSOR_AGENT-} || ${CURSOR_EXTENSION_HOST_ROLE-} == agent-exec ]]; then __mt_agent=cursor
    elif [[ -n ${AI_AGENT-} ]]; then __mt_agent=$AI_AGENT
    else __mt_agent=agent
    fi
    export MT_AGENT_SHELL=$$ MT_AGENT_NAME=$__mt_agent

    __mt_agent_ended() {
        local st=$? ps=${(j: :)pipestatus[@]}
        emulate -L zsh
        [[ -z ${MT_AGENT_HOOKED-} ]] || return $st
        # What the parent sees of `exit 300`: 44.
        local seen=$(( st & 255 ))
        [[ " $ps " == *" $st "* ]] || ps=$seen
        __mt_a_now
        local t=$REPLY v i
        local -a out=("${CLAUDE_CODE_SESSION_ID:-${CODEX_THREAD_ID:-${GEMINI_SESSION_ID:-$__mt_agent-$PPID}}}" "$__mt_agent" "$__mt_cwd" "$ZSH_EXECUTION_STRING" "$__mt_root" "$__mt_head")
        for i in 1 2 3 4 5 6; do
            v=${out[i]}
            if [[ $v == *[$'\\\t\n\r']* ]]; then
                v=${v//\\/\\\\}; v=${v//$'\t'/\\t}; v=${v//$'\n'/\\n}; v=${v//$'\r'/\\r}
                out[i]=$v
            fi
        done
        local git=
        [[ -z $__mt_root ]] || git=$'\t'"root=${out[5]}"$'\t'"head=${out[6]}"
        print -rn -- "mt1"$'\t'"H"$'\t'"id=a$$:$__mt_start"$'\t'"sid=${out[1]}"$'\t'"pid=$$"$'\t'"t=$__mt_start"$'\t'"dur=$((t - __mt_start))"$'\t'"exit=$seen"$'\t'"ps=$ps"$'\t'"src=agent"$'\t'"agent=${out[2]}"$'\t'"cwd=${out[3]}$git"$'\t'"cmd=${out[4]}"$'\t'"."$'\n' \
            2>/dev/null >>@MT_SPOOL@/"h-$$-a$__mt_start.log"
        return $st
    }
    trap __mt_agent_ended EXIT
fi
unfunction __mt_agent_record

if [[ -f ${ZDOTDIR:-$HOME}/.zshenv ]]; then
    source "${ZDOTDIR:-$HOME}/.zshenv"
fi
