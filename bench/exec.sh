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
