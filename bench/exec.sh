#!/usr/bin/env bash
# mt exec overhead, side by side in one hyperfine run (DESIGN.md target:
# `mt exec true` ≤ 1.15× a minimal C fork/exec/wait wrapper).
# Needs: cargo, cc, hyperfine (apt-get install hyperfine), GNU time, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-1000}
cargo build --release -q
work=$(mktemp -d /tmp/mtbench.XXXXXX)
trap 'MT_HOME=$work/up target/release/mt daemon stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cc -O2 -o "$work/cwrap" bench/cwrap.c
mt=$PWD/target/release/mt
MT_HOME=$work/up "$mt" daemon start >/dev/null

hyperfine -N --warmup 50 --runs "$runs" --export-json "$work/exec.json" \
    -n 'true (bare)' '/bin/true' \
    -n 'C fork/exec/wait' "$work/cwrap /bin/true" \
    -n '/usr/bin/time' '/usr/bin/time -o /dev/null /bin/true' \
    -n 'mt exec, daemon up' "env MT_HOME=$work/up $mt exec /bin/true" \
    -n 'mt exec, no daemon (spools)' "env MT_HOME=$work/down MT_NO_AUTOSTART=1 $mt exec /bin/true" \
    -n 'env (baseline for the two above)' "env MT_HOME=$work/up /bin/true" >&2

python3 - "$work/exec.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
med = lambda n: r[n]["median"] * 1000
c = med("C fork/exec/wait")
print(f"median ms: bare {med('true (bare)'):.3f}, C wrapper {c:.3f}, /usr/bin/time {med('/usr/bin/time'):.3f}")
# The mt runs go through `env` (to set MT_HOME); subtract env's own cost.
e = med("env (baseline for the two above)") - med("true (bare)")
for n in ("mt exec, daemon up", "mt exec, no daemon (spools)"):
    m = med(n) - e
    print(f"{n}: {m:.3f} ms = {m / c:.2f}x the C wrapper, {m / med('/usr/bin/time'):.2f}x /usr/bin/time")
PY
