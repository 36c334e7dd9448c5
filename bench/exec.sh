#!/usr/bin/env bash
# mt exec overhead, as ratios measured side by side in one hyperfine run each
# (target, BENCHMARKS.md: `mt exec true` ≤ 1.15× a minimal C fork/exec/wait wrapper).
# Needs: cargo, cc, hyperfine (apt-get install hyperfine), GNU time, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1000}
cargo build --release -q
work=$(mktemp -d /tmp/mtbench.XXXXXX)
mt=$PWD/target/release/mt
trap 'MT_HOME=$work/up "$mt" daemon stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cc -O2 -o "$work/cwrap" bench/cwrap.c

report() {
    python3 - "$1" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
c = r["C fork/exec/wait"]
for n, m in r.items():
    print(f"  {n:<32} median {m:6.3f} ms  = {m / c:4.2f}x the C wrapper")
PY
}

run() { # $1: label; rest: hyperfine arguments
    local label=$1; shift
    echo "$label"
    hyperfine -N --warmup 50 --runs "$runs" --export-json "$work/r.json" \
        -n 'true (bare)' /bin/true \
        -n 'C fork/exec/wait' "$work/cwrap /bin/true" \
        -n '/usr/bin/time' '/usr/bin/time -o /dev/null /bin/true' \
        -n 'mt exec' "$mt exec /bin/true" >/dev/null 2>&1
    report "$work/r.json"
}

MT_HOME=$work/up "$mt" daemon start >/dev/null
MT_HOME=$work/up run "daemon running:"
MT_HOME=$work/down MT_NO_AUTOSTART=1 run "no daemon (records wait in the spool):"

# A second opinion that a drift of the machine cannot bias: the same three
# commands started in turn (A B C, B C A, …), each timed from spawn to
# reap, medians compared. hyperfine runs each command's runs in one block.
interleaved() { # $1: label; $2: the mt to time (this build's by default)
    echo "$1 (interleaved)"
    python3 - "$runs" "$work/cwrap /bin/true" "${2:-$mt} exec /bin/true" "/usr/bin/time -o /dev/null /bin/true" <<'PY'
import os, statistics, sys, time
n, cmds = int(sys.argv[1]), [a.split() for a in sys.argv[2:]]
names = ["C fork/exec/wait", "mt exec", "/usr/bin/time"]
null = os.open("/dev/null", os.O_RDWR)
acts = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
def once(argv):
    t = time.perf_counter_ns()
    os.waitpid(os.posix_spawn(argv[0], argv, os.environ, file_actions=acts), 0)
    return time.perf_counter_ns() - t
times = [[] for _ in cmds]
for i in range(n + 50):
    for k in [(i + j) % len(cmds) for j in range(len(cmds))]:
        t = once(cmds[k])
        if i >= 50:
            times[k].append(t)
c = statistics.median(times[0])
for name, ts in zip(names, times):
    m = statistics.median(ts)
    print(f"  {name:<32} median {m / 1e6:6.3f} ms  = {m / c:4.2f}x the C wrapper")
PY
}
MT_HOME=$work/up interleaved "daemon running:"
MT_HOME=$work/down MT_NO_AUTOSTART=1 interleaved "no daemon:"

# BEFORE=path/to/an/older/mt (its mt-core beside it) adds an A/B of a change
# to the front or the daemon: that build and this one in turn, three rounds,
# each with its own daemon running.
if [ -n "${BEFORE:-}" ]; then
    before=$(realpath "$BEFORE")
    for round in 1 2 3; do
        for bin in "$before" "$mt"; do
            home=$work/ab-$round-$([ "$bin" = "$mt" ] && echo this || echo before)
            MT_HOME=$home "$bin" daemon start >/dev/null
            MT_HOME=$home interleaved "${home##*/}, daemon running:" "$bin"
            MT_HOME=$home "$bin" daemon stop >/dev/null
        done
    done
fi
