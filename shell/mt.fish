# mt's fish hook. Install with, in ~/.config/fish/config.fish:
#   mt init fish | source
#
# fish has no microsecond clock builtin, so the record is written by mt
# itself, in the background after each command, from fish's own figures
# ($status, $pipestatus, $CMD_DURATION).

status is-interactive; or exit 0
set -q __mt_installed; and exit 0
set -g __mt_installed 1

set -g __mt_bin @MT_BIN@
set -g __mt_sid (string join - $fish_pid (random) (random))
set -gx MT_SESSION $__mt_sid

function __mt_preexec --on-event fish_preexec
    set -g __mt_pwd $PWD
end

function __mt_postexec --on-event fish_postexec
    set -l st $status
    set -l ps $pipestatus
    set -q fish_private_mode; and return $st
    if set -q MT_DISABLE; and test "$MT_DISABLE" != 0
        return $st
    end
    set -l line $argv[1]
    test -n "$line"; or return $st
    # Leaving the shell is not work.
    string match -qr -- '^\s*(exit|logout)(\s|;|$)' $line; and return $st
    # A leading space keeps a line out of fish's history: the run counts,
    # its text stays private, as in bash and zsh.
    string match -q -- ' *' $line; and set line ''
    command $__mt_bin hook-record --sid $__mt_sid --pid $fish_pid --exit $st \
        --pipestatus "$ps" --duration-ms $CMD_DURATION --cwd $__mt_pwd -- "$line" >/dev/null 2>&1 &
    disown 2>/dev/null
    return $st
end

if not set -q MT_NO_AUTOSTART; and test "$CI" != true; and not set -q MT_DISABLE
    command $__mt_bin daemon start >/dev/null 2>&1 &
    disown 2>/dev/null
end
