# shellcheck shell=bash
# mt's agent environment for bash (`mt init agent` puts it at BASH_ENV).
#
# A coding agent runs each command as `bash -c CMD` (or `bash -lc`): bash
# reads this file first. It records that one command line — text, start,
# duration, exit status, pipe statuses, cwd, and the worktree and HEAD as
# the command starts — with builtins only, from an EXIT trap, so nothing is
# forked.

# Interactive shells have the hook of `mt init bash`. A shell started by
# another shell — a login profile's `bash -c`, a person's nested shell, a
# bash launcher (a version manager's shim) on the way to the agent — is not
# an agent's command, and leaves the environment to the agent it may start.
# /proc tells the parent, one read.
[[ $- == *i* || -n ${MT_DISABLE-} && $MT_DISABLE != 0 ]] && return 0
__mt_pc=
{ IFS= read -r __mt_pc <"/proc/$PPID/comm"; } 2>/dev/null
case $__mt_pc in
bash | zsh | sh | dash | fish | ksh | mksh | busybox) return 0 ;;
*) ;;
esac
# Started by the agent (or another program): what this shell runs is not
# the agent's own command, so its shells get the user's environment back.
unset BASH_ENV
if [[ -n ${__MT_ZDOTDIR-} ]]; then export ZDOTDIR=$__MT_ZDOTDIR; else unset ZDOTDIR; fi
unset __MT_ZDOTDIR
# A script run without `-c` is no command line.
[[ -n ${BASH_EXECUTION_STRING+set} ]] || return 0
__mt_start=${EPOCHREALTIME//[^0-9]/}
[[ -n $__mt_start ]] || return 0
__mt_cwd=$PWD
# The worktree and HEAD now, from .git (a `git switch` the agent ran a
# moment ago is in HEAD, not yet in a second of the reflog of its own).
__mt_root='' __mt_head=''
__mt_d=$PWD
while [[ -n $__mt_d ]]; do
    if [[ -e $__mt_d/.git ]]; then
        __mt_g=$__mt_d/.git
        if [[ -f $__mt_g ]]; then
            { IFS= read -r __mt_g <"$__mt_g"; } 2>/dev/null
            __mt_g=${__mt_g#gitdir: }
            [[ $__mt_g == /* ]] || __mt_g=$__mt_d/$__mt_g
        fi
        { IFS= read -r __mt_head <"$__mt_g/HEAD"; } 2>/dev/null
        __mt_root=${__mt_d:-/}
        break
    fi
    __mt_d=${__mt_d%/*}
done
# Which agent: MT_AGENT if the user named it, else what each agent sets in
# the shells it starts (docs/agents.md).
if [[ -n ${MT_AGENT-} ]]; then
    __mt_agent=$MT_AGENT
elif [[ -n ${CLAUDE_CODE_CHILD_SESSION-}${CLAUDECODE-} ]]; then
    __mt_agent=claude-code
elif [[ -n ${CODEX_THREAD_ID-}${CODEX_SANDBOX-}${CODEX_CI-}${CODEX_SANDBOX_NETWORK_DISABLED-} ]]; then
    __mt_agent=codex
elif [[ -n ${GEMINI_CLI-} ]]; then
    __mt_agent=gemini-cli
elif [[ -n ${CURSOR_AGENT-} || ${CURSOR_EXTENSION_HOST_ROLE-} == agent-exec ]]; then
    __mt_agent=cursor
elif [[ -n ${AI_AGENT-} ]]; then
    __mt_agent=$AI_AGENT
else
    __mt_agent=agent
fi
# An `mt exec` this shell runs itself is the agent's run.
export MT_AGENT_SHELL=$$ MT_AGENT_NAME=$__mt_agent

# The record, written as the shell exits: backslash, TAB, LF and CR are
# escaped as the spool format says (docs/spool-format.md).
__mt_agent_ended() {
    # shellcheck disable=SC2124 # joined with spaces whatever IFS is
    local st=$? ps="${PIPESTATUS[@]}"
    [[ -z ${MT_AGENT_HOOKED-} ]] || return "$st"
    local t=${EPOCHREALTIME//[^0-9]/} f v
    # `exit N` leaves the statuses of the pipeline before it (under
    # pipefail the status may be any of them, not the last).
    [[ " $ps " == *" $st "* ]] || ps=$st
    local -a out=("${CLAUDE_CODE_SESSION_ID:-${CODEX_THREAD_ID:-${GEMINI_SESSION_ID:-$__mt_agent-$PPID}}}" "$__mt_agent" "$__mt_cwd" "${BASH_EXECUTION_STRING-}" "$__mt_root" "$__mt_head")
    for f in 0 1 2 3 4 5; do
        v=${out[f]}
        if [[ $v == *[$'\\\t\n\r']* ]]; then
            v=${v//\\/\\\\} v=${v//$'\t'/\\t} v=${v//$'\n'/\\n} v=${v//$'\r'/\\r}
            out[f]=$v
        fi
    done
    local git=
    [[ -z $__mt_root ]] || git=$'\troot='${out[4]}$'\thead='${out[5]}
    printf 'mt1\tH\tid=a%s:%s\tsid=%s\tpid=%s\tt=%s\tdur=%s\texit=%s\tps=%s\tsrc=agent\tagent=%s\tcwd=%s%s\tcmd=%s\t.\n' \
        "$$" "$__mt_start" "${out[0]}" "$$" "$__mt_start" "$((t - __mt_start))" "$st" "$ps" "${out[1]}" "${out[2]}" "$git" "${out[3]}" \
        2>/dev/null >>@MT_SPOOL@/"h-$$-a$__mt_start.log"
    return "$st"
}
trap __mt_agent_ended EXIT
