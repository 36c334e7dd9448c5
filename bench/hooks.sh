#!/usr/bin/env bash
# Prompt delay per command added by the hooks (BENCHMARKS.md target for bash and
# zsh: no fork, ≤ 0.1 ms). Each shell runs its hook's per-command work N
# times in a loop, and the same loop without it, in one process: the
# difference per iteration is what the user waits for at each prompt.
# Needs: bash ≥ 5, zsh, fish.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-2000}
cargo build --release -q
mt=$PWD/target/release/mt
export MT_HOME
MT_HOME=$(mktemp -d /tmp/mthooks.XXXXXX)
trap 'rm -rf "$MT_HOME"' EXIT
export MT_NO_AUTOSTART=1 N=$n

# (-i makes the hook install; job-control warnings without a tty are noise.)
bash --noprofile --norc -i -c "$("$mt" init bash)"'
now() { t=${EPOCHREALTIME//[^0-9]/}; }
now; a=$t
for ((i = 0; i < N; i++)); do __mt_start=${EPOCHREALTIME//[^0-9]/}; : x; done
now; b=$t
for ((i = 0; i < N; i++)); do __mt_start=${EPOCHREALTIME//[^0-9]/}; : x; __mt_precmd x; done
now; c=$t
printf "bash %s: %.1f us per command with the hook, %.1f us without: +%.1f us\n" "$BASH_VERSION" \
  "$(((c - b) * 10 / N))e-1" "$(((b - a) * 10 / N))e-1" "$(((c - b - (b - a)) * 10 / N))e-1"
' 2> >(grep -v 'job control\|terminal process group' >&2)

ZDOTDIR=$MT_HOME zsh -i -c "$("$mt" init zsh)"'
now() { __mt_t=$EPOCHREALTIME; }
now; a=$__mt_t
for ((i = 0; i < N; i++)); do : x; done
now; b=$__mt_t
for ((i = 0; i < N; i++)); do __mt_preexec "true x"; : x; __mt_precmd; done
now; c=$__mt_t
(( a *= 1e6, b *= 1e6, c *= 1e6 ))
printf "zsh %s: %.1f us per command with the hook, %.1f us without: +%.1f us\n" "$ZSH_VERSION" \
  $(((c - b) / (N * 1.0))) $(((b - a) / (N * 1.0))) $(((c - b - (b - a)) / (N * 1.0)))
'

# fish starts `mt hook-record` in the background after each command: what
# the prompt waits for is fish's fork, not mt's work.
fish --no-config -i -c "$("$mt" init fish); set -e fish_private_mode"'
set -l runs 200
set -l a (date +%s%N)
for i in (seq $runs); true; end
set -l b (date +%s%N)
for i in (seq $runs); true; emit fish_postexec "true x"; end
set -l c (date +%s%N)
printf "fish %s: +%.1f us per command (background start of mt hook-record)\n" $version (math "(($c - $b) - ($b - $a)) / $runs / 1000")
'
