#!/usr/bin/env bash
# make bench: run every benchmark script; each prints a table and writes JSON under .cache/bench.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .cache/bench
ran=0
for bench in scripts/bench_*.py; do
  [[ -e "$bench" ]] || continue
  echo "== $bench"
  .venv/bin/python "$bench"
  ran=$((ran + 1))
done
((ran)) || echo "no benchmarks yet"
