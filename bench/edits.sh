#!/usr/bin/env bash
# The edit watcher's costs (BENCHMARKS.md): setting up watches on a tree of
# 50,000 files in 3,000 directories (time and daemon RSS), daemon CPU while
# idle with that tree watched, daemon CPU as a share of a "build" writing
# 20,000 files into an ignored target/, and how fast 2,000 real edits are
# stored. Needs: cargo, git, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
work=$(mktemp -d /tmp/mtedits.XXXXXX)
mt=$PWD/target/release/mt
export MT_HOME=$work/mt HOME=$work GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@e
trap '"$mt" daemon stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
repo=$work/repo
python3 - "$repo" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(3000):
    path = os.path.join(root, f"pkg{d // 100:02d}", f"mod{d:04d}")
    os.makedirs(path)
    for f in range(17):
        with open(os.path.join(path, f"f{f:02d}.rs"), "w") as fh:
            fh.write("fn x() {}\n")
with open(os.path.join(root, ".gitignore"), "w") as fh:
    fh.write("target/\n")
PY
git -C "$repo" init -q -b main
cd "$repo"
"$mt" daemon start >/dev/null
pid=$("$mt" daemon status | grep -o 'pid [0-9]*' | cut -d' ' -f2)
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
now_ms() { date +%s%3N; }
rss0=$(rss)
t0=$(now_ms)
"$mt" exec true
until grep -q '"dirs":3[0-9][0-9][0-9]' "$MT_HOME/state/watch.json" 2>/dev/null; do sleep 0.01; done
t1=$(now_ms)
dirs=$(grep -o '"dirs":[0-9]*' "$MT_HOME/state/watch.json" | cut -d: -f2)
echo "watch set-up: $dirs directories, 51,000 files: $((t1 - t0)) ms (mt exec to watched); daemon RSS ${rss0} KiB -> $(rss) KiB"

idle0=$(cpu_ticks); sleep 5; idle1=$(cpu_ticks)
echo "idle 5 s with the tree watched: $((idle1 - idle0)) CPU ticks"

d0=$(cpu_ticks)
build=$( { TIMEFORMAT='%U %S'; time python3 - <<'PY'
import os
os.makedirs("target/debug/deps", exist_ok=True)
for i in range(20000):
    with open(f"target/debug/deps/o{i}.o", "wb") as fh:
        fh.write(b"\0" * 4096)
PY
} 2>&1 )
sleep 1
d1=$(cpu_ticks)
hz=$(getconf CLK_TCK)
python3 - "$build" "$((d1 - d0))" "$hz" <<'PY'
import sys
u, s = map(float, sys.argv[1].split())
ticks, hz = int(sys.argv[2]), int(sys.argv[3])
d = ticks / hz
print(f"build writing 20,000 ignored files: build CPU {u + s:.2f} s, daemon CPU {d:.2f} s ({100 * d / (u + s):.1f}% of the build's)")
PY
edits() { "$mt" log --limit 1 >/dev/null; sqlite3 "$MT_HOME/data/mt.db" "SELECT COUNT(*) FROM events WHERE kind = 'edit'" 2>/dev/null || python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT COUNT(*) FROM events WHERE kind = 'edit'\").fetchone()[0])" "$MT_HOME/data/mt.db"; }
echo "edits stored from the build: $(edits)"

t0=$(now_ms)
python3 - <<'PY'
for i in range(2000):
    d = i % 3000
    with open(f"pkg{d // 100:02d}/mod{d:04d}/f00.rs", "a") as fh:
        fh.write("// edit\n")
PY
until [ "$(edits)" -ge 2000 ]; do sleep 0.05; done
t1=$(now_ms)
echo "2,000 files edited at once: all stored in $((t1 - t0)) ms (includes the 400 ms quiet period)"

# Files written into directories made a moment before (a code generator, an
# unignored build output): each new directory is watched, then scanned.
before=$(edits)
t0=$(now_ms)
python3 - <<'PY'
import os
for d in range(200):
    path = f"gen/g{d:03d}/inner"
    os.makedirs(path)
    for f in range(100):
        with open(f"{path}/o{f:02d}.txt", "w") as fh:
            fh.write("x\n")
PY
until [ "$(edits)" -ge $((before + 20000)) ]; do
    [ $(($(now_ms) - t0)) -lt 60000 ] || { echo "new directories: only $(($(edits) - before)) of 20,000 files stored after 60 s"; exit 1; }
    sleep 0.1
done
t1=$(now_ms)
echo "20,000 files written into 400 new directories: all 20,000 stored in $((t1 - t0)) ms; daemon RSS now $(rss) KiB"
