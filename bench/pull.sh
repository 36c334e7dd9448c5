#!/usr/bin/env bash
# What mt's git hooks add to a pull, as a ratio to the same pull without
# them (BENCHMARKS.md): a repository with 200 local branches, 20 of them
# with recorded work (open spans), none finished. Each run fast-forwards
# main by one commit that changes a file (what `git pull` does after its
# fetch) and so fires
# post-merge; hooks on: mt checks the 20 open spans for finished work.
# Then the finished-branch check on its own, per branch.
# Needs: cargo, git, hyperfine (apt-get install hyperfine), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-30}
cargo build --release -q
work=$(mktemp -d /tmp/mtpull.XXXXXX)
mt=$PWD/target/release/mt
export MT_HOME=$work/mt MT_NO_AUTOSTART=1 GIT_CONFIG_NOSYSTEM=1 HOME=$work
export GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@e
trap 'rm -rf "$work"' EXIT
git init -q -b main "$work/repo"
cd "$work/repo"
for i in $(seq 50); do echo "$i" > "f$i"; git add "f$i"; git commit -q -m "base $i"; done
for i in $(seq 200); do
    git switch -q -c "feat/$i-x" main
    echo "$i" > "b$i"; git add "b$i"; git commit -q -m "branch $i"
    if [ "$i" -le 20 ]; then
        for _ in 1 2 3; do "$mt" exec true; done
    fi
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
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/r.json" \
    --prepare "git -C $work/repo reset -q --hard $old" \
    -n 'pull without mt hooks' "git -C $work/repo -c core.hooksPath=$work/nohooks merge -q --ff-only $new" \
    -n 'pull with mt hooks' "git -C $work/repo merge -q --ff-only $new" >/dev/null
python3 - "$work/r.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] * 1000 for x in json.load(open(sys.argv[1]))["results"]}
bare = r["pull without mt hooks"]
for n, m in r.items():
    print(f"  {n:<24} median {m:7.1f} ms = {m / bare:5.2f}x the pull without hooks")
PY
git reset -q --hard "$new"
hyperfine -N --warmup 2 --runs "$runs" --export-json "$work/s.json" \
    -n 'status --branches (20 open spans)' "$mt status --branches" >/dev/null
python3 - "$work/s.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["results"][0]["median"] * 1000
print(f"  finished-branch check: {m:.1f} ms for 20 open spans = {m / 20:.2f} ms per branch (mt status --branches)")
PY
