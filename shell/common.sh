# shellcheck shell=bash
# What mt's bash and zsh hooks share, written once: `mt init bash|zsh`
# puts it in place of the @MT_COMMON@ line. Valid in both shells (zsh
# reads it with its defaults; no arrays, no word splitting relied on).
# No redirection of stderr in here: every caller runs these with stderr
# silenced once per prompt (closed in bash, a kept /dev/null descriptor in
# zsh), since each redirection to a path is a file open.

# Escape a value for the spool: backslash, TAB, LF, CR.
__mt_esc() {
    if [[ $1 != *[$'\\\t\n\r']* ]]; then
        __mt_e=$1
        return 0
    fi
    __mt_e=${1//\\/\\\\}
    __mt_e=${__mt_e//$'\t'/\\t}
    __mt_e=${__mt_e//$'\n'/\\n}
    __mt_e=${__mt_e//$'\r'/\\r}
}

# The worktree root and HEAD text for $PWD, read from .git with builtins, so
# the branch is exact even if the record is ingested after HEAD moved.
__mt_head() {
    __mt_root='' __mt_headtxt='' __mt_gitdir=''
    local d=$PWD g line
    while :; do
        if [[ -e $d/.git ]]; then
            g=$d/.git
            if [[ -f $g ]]; then
                IFS= read -r line <"$g" || :
                g=${line#gitdir: }
                [[ $g == /* ]] || g=$d/$g
            fi
            IFS= read -r __mt_headtxt <"$g/HEAD" || :
            __mt_gitdir=$g
            __mt_root=${d:-/}
            return 0
        fi
        [[ -n $d ]] || return 0
        d=${d%/*}
    done
}

# Where the next command starts: cwd, worktree root and HEAD at the prompt.
# A command is filed under these, so `cd` and `git switch` themselves count
# where they were typed.
__mt_prompt_state() {
    if [[ $PWD == "${__mt_pwd-}" ]]; then
        # Same directory: only HEAD can have moved.
        [[ -n $__mt_root ]] || return 0
        local before=$__mt_headtxt
        IFS= read -r __mt_headtxt <"$__mt_gitdir/HEAD" || :
        [[ $__mt_headtxt != "$before" ]] || return 0
    else
        __mt_pwd=$PWD
        __mt_esc "$PWD"
        __mt_cwd=$__mt_e
        __mt_head
    fi
    __mt_git=''
    if [[ -n $__mt_root ]]; then
        __mt_esc "$__mt_root"
        __mt_git=$'\troot='$__mt_e
        __mt_esc "$__mt_headtxt"
        __mt_git+=$'\thead='$__mt_e
    fi
}
