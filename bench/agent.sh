#!/usr/bin/env bash
# What an agent's command pays for mt's agent environment (BENCHMARKS.md):
# `bash -c true` and `zsh -c true` started by a program (as an agent starts
# them: its shells record only when their parent is not a shell), 400 at a
# time, bare and with `mt init agent`'s variables, in alternating rounds.
# The figure is the median per command and the ratio to the bare shell in
# the same run. Needs: cargo, python3 (bash; zsh if installed).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
work=$(mktemp -d /tmp/mtagent.XXXXXX)
mt=$PWD/target/release/mt
export MT_HOME=$work/mt HOME=$work MT_NO_AUTOSTART=1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/.git" && echo 'ref: refs/heads/main' >"$work/repo/.git/HEAD"
"$mt" init agent >"$work/env.sh"
shells=(bash)
command -v zsh >/dev/null && shells+=(zsh)
python3 - "$work" "${shells[@]}" <<'PY'
import os, statistics, subprocess, sys, time
work, shells = sys.argv[1], sys.argv[2:]
agent = dict(os.environ)
for line in open(os.path.join(work, "env.sh")):
    if line.startswith("export "):
        k, v = line[len("export "):].rstrip("\n").split("=", 1)
        agent[k] = v.strip("'")
bare = {k: v for k, v in os.environ.items() if k not in ("BASH_ENV", "ZDOTDIR")}
repo = os.path.join(work, "repo")
N, ROUNDS = 400, 4
for shell in shells:
    per = {"bare": [], "agent": []}
    for _ in range(ROUNDS):
        for side, env in (("bare", bare), ("agent", agent)):
            t0 = time.perf_counter()
            for _ in range(N):
                subprocess.run([shell, "-c", "true"], env=env, cwd=repo, check=True)
            per[side].append((time.perf_counter() - t0) / N * 1000)
    b, a = statistics.median(per["bare"]), statistics.median(per["agent"])
    print(f"{shell} -c true, {N} x {ROUNDS} rounds: bare {b:.3f} ms, with mt's agent environment {a:.3f} ms: {a / b:.2f}x (+{a - b:.3f} ms a command)")
spool = os.path.join(work, "mt", "state", "spool")
print(f"records spooled: {sum(1 for f in os.listdir(spool) if '-a' in f)} files, one per agent command")
PY
