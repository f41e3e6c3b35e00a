#!/usr/bin/env bash
# Overhead of campaigns and new-wave detection on the whole `analyze` command.
#
# usage: scripts/bench_campaigns.sh [LINES] [LOG]
#
# Generates LINES lines (default 1000000) with `scantriage-gen --seed 1 --wave` unless a
# LOG is given, then runs `scantriage analyze --no-store --no-progress --output json -j 1`
# RUNS times (default 7) with campaigns on and with `--no-campaigns`, interleaved so that
# machine noise hits both alike, and prints the median wall time of each, lines/s, and the
# throughput lost with campaigns on. NO_BUILD=1 uses the binaries already built.
set -euo pipefail
RUNS=${RUNS:-7}
LINES=${1:-1000000}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-target}
[[ $TARGET = /* ]] || TARGET="$ROOT/$TARGET"
if [[ ${NO_BUILD:-0} != 1 ]]; then
    cargo build --release --offline -q -p scantriage -p scantriage-testkit
fi
BIN="$TARGET/release/scantriage"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/scantriage-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
LOG=${2:-}
if [[ -z $LOG ]]; then
    LOG="$TMP/access.log"
    "$TARGET/release/scantriage-gen" --lines "$LINES" --seed 1 --wave >"$LOG"
fi
LINES=$(wc -l <"$LOG")

ms() { local a b; a=$(date +%s%N); "$@" >/dev/null; b=$(date +%s%N); echo $(((b - a) / 1000000)); }
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

on=() off=()
for _ in $(seq "$RUNS"); do
    on+=("$(ms "$BIN" analyze --no-store --no-progress --output json -j 1 "$LOG")")
    off+=("$(ms "$BIN" analyze --no-store --no-progress --output json -j 1 --no-campaigns "$LOG")")
done
m_on=$(printf '%s\n' "${on[@]}" | median)
m_off=$(printf '%s\n' "${off[@]}" | median)
echo "| campaigns | median ms | lines/s |"
echo "|---|---:|---:|"
echo "| on  | $m_on | $((LINES * 1000 / m_on)) |"
echo "| off | $m_off | $((LINES * 1000 / m_off)) |"
awk -v a="$m_on" -v b="$m_off" 'BEGIN { printf "throughput lost with campaigns on: %.1f%% (%d lines, %d runs each, -j 1)\n", (1 - b / a) * 100, '"$LINES"', '"$RUNS"' }'
echo "runs on:  ${on[*]}"
echo "runs off: ${off[*]}"
