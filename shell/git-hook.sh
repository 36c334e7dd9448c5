#!/bin/sh
# mt git hook (@HOOK@): writes the milestones of work that just became
# finished, or refreshes this branch's draft. Installed by `mt init git`.
# A hook that was here before runs first, from @HOOK@.pre-mt, and its exit
# status is kept; mt itself never fails a git command.
status=0
pre="$(dirname "$0")/@HOOK@.pre-mt"
if [ -x "$pre" ]; then
    "$pre" "$@" || status=$?
fi
@ACTION@
exit "$status"
