#!/usr/bin/env bash
# Live benchmark of `scantriage watch` with the nftables back end, in a network
# namespace of its own (root, `ip` and `nft` needed): lines are appended at RATE
# lines/s for SECS seconds, with a new exploit-probing source PROBERS times a second
# among benign traffic from SOURCES sources; prints the time from a blocking line being
# written to its ban being in the kernel (p50/p99/max) and the sustained lines/s.
#
#   scripts/bench_watch.sh [RATE [SECS [PROBERS [SOURCES]]]]   (defaults: 100000 15 10 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-100000}
SECS=${2:-15}
PROBERS=${3:-10}
SOURCES=${4:-20000}
cargo build --release -q -p scantriage -p scantriage-testkit
NS="st-bench-$$"
DIR=$(mktemp -d)
cleanup() {
  # Whatever still runs in the namespace was started here.
  for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" target/release/scantriage-bench-watch \
  --scantriage "$PWD/target/release/scantriage" --dir "$DIR" \
  --rate "$RATE" --secs "$SECS" --probers-per-sec "$PROBERS" --sources "$SOURCES"
echo "elements in the kernel set: $(ip netns exec "$NS" nft list set inet scantriage banned_v4 | grep -o '172\.[0-9.]*' | sort -u | wc -l)"
