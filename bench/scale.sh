#!/usr/bin/env bash
# Finished work at the size of a busy repository (BENCHMARKS.md): 20,000
# commits on main, 1,000 branches of 1 to 3 commits each, 50,000 files
# (bench/scale_repo.py, through git fast-import), and 50 of the branches
# with recorded work (open spans), none finished. Measures, in one run:
# `mt close` on main and `mt status --branches` (target: 1 s each), and what
# mt's git hooks add to a fast-forward pull of one commit (target: +30 ms
# over the same pull without them).
# Needs: cargo, git, hyperfine (apt-get install hyperfine), python3.
# COMMITS, BRANCHES, FILES, SPANS and RUNS change the sizes; BEFORE adds an
# A/B against an older build (at the end).
# No commit-graph is written (a repository git gc has not run in).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=$PWD/bench/scale_repo.py
runs=${RUNS:-10}
spans=${SPANS:-50}
cargo build --release -q
work=$(mktemp -d /tmp/mtscale.XXXXXX)
mt=$PWD/target/release/mt
export MT_HOME=$work/mt MT_NO_AUTOSTART=1 GIT_CONFIG_NOSYSTEM=1 HOME=$work
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@e
trap 'rm -rf "$work"' EXIT
git init -q -b main "$work/repo"
cd "$work/repo"
python3 "$gen" "${COMMITS:-20000}" "${BRANCHES:-1000}" "${FILES:-50000}" |
    git fast-import --quiet --done
git reset -q --hard main
# As a clone (and git gc) leaves them: refs packed. LOOSE_REFS=1 keeps the
# 1,000 refs as files, each of which git opens on every for-each-ref.
[ "${LOOSE_REFS:-0}" = 1 ] || git pack-refs --all
for b in $(seq 0 $((spans - 1))); do
    git switch -q "feat/$b"
    for _ in 1 2 3; do "$mt" exec true; done
done
git switch -q main
old=$(git rev-parse HEAD)
echo upstream > upstream; git add upstream; git commit -q -m upstream
new=$(git rev-parse HEAD)
git reset -q --hard "$old"
git update-ref refs/remotes/origin/main "$new"
git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main
"$mt" log --limit 1 >/dev/null   # ingest once, outside the timing
mkdir -p "$work/nohooks"
"$mt" init git >/dev/null
echo "$(git rev-list --count main) commits on main, $(git for-each-ref refs/heads | wc -l) branches, $(git ls-files | wc -l) files, $spans open spans"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/c.json" \
    -n 'mt close (on main)' "$mt close" \
    -n 'mt status --branches' "$mt status --branches" >/dev/null
hyperfine -N --warmup 3 --runs "$((runs * 3))" --export-json "$work/p.json" \
    --prepare "git -C $work/repo reset -q --hard $old" \
    -n 'pull without mt hooks' "git -C $work/repo -c core.hooksPath=$work/nohooks merge -q --ff-only $new" \
    -n 'pull with mt hooks' "git -C $work/repo merge -q --ff-only $new" >/dev/null
python3 - "$work/c.json" "$work/p.json" <<'PY'
import json, sys
for n, x in ((x["command"], x) for x in json.load(open(sys.argv[1]))["results"]):
    print(f"  {n:<24} median {x['median'] * 1000:7.1f} ms (min {x['min'] * 1000:.1f}, max {x['max'] * 1000:.1f})")
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[2]))["results"]}
bare, hooked = r["pull without mt hooks"], r["pull with mt hooks"]
print(f"  pull without mt hooks    median {bare:7.1f} ms")
print(f"  pull with mt hooks       median {hooked:7.1f} ms = +{hooked - bare:.1f} ms ({hooked / bare:.2f}x)")
PY

# BEFORE=path/to/an/older/mt (its mt-core beside it) times that build's
# close and status beside this one's, interleaved, on the same store and
# repository: an A/B of a change (BENCHMARKS.md).
if [ -n "${BEFORE:-}" ]; then
    before=$(realpath "$BEFORE")
    # Back where the first block measured: main one commit behind
    # origin/main (the pull block left them equal, which close and status
    # answer faster).
    git -C "$work/repo" reset -q --hard "$old"
    # Interleaved (A B C D, B C D A, …), each timed from spawn to exit,
    # so a drift of the machine lands on all four alike.
    python3 - "$runs" "$before" "$mt" <<'PY'
import os, statistics, subprocess, sys, time
runs, before, this = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = [("before: mt close", [before, "close"]), ("this:   mt close", [this, "close"]),
        ("before: mt status --branches", [before, "status", "--branches"]),
        ("this:   mt status --branches", [this, "status", "--branches"])]
times = [[] for _ in cmds]
for i in range(runs + 2):
    for k in [(i + j) % len(cmds) for j in range(len(cmds))]:
        t = time.perf_counter()
        subprocess.run(cmds[k][1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        if i >= 2:
            times[k].append(time.perf_counter() - t)
for (name, _), ts in zip(cmds, times):
    print(f"  {name:<30} median {statistics.median(ts) * 1000:7.1f} ms (min {min(ts) * 1000:.1f}, max {max(ts) * 1000:.1f})")
PY
fi
