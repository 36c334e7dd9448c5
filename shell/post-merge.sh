#!/bin/sh
# mt post-merge hook: writes the milestone of the branch just merged.
# Installed by `mt init git`. A hook that was here before runs first, from
# post-merge.pre-mt, and its exit status is kept; mt itself never fails a merge.
status=0
pre="$(dirname "$0")/post-merge.pre-mt"
if [ -x "$pre" ]; then
    "$pre" "$@" || status=$?
fi
# Squash merges (argument 1) leave no merge to close.
if [ "${1:-0}" != 1 ]; then
    @MT_BIN@ close || echo "mt: the merged branch was not closed; run mt close BRANCH when ready" >&2
fi
exit "$status"
