#!/usr/bin/env bash
# End-to-end benchmark of `scantriage analyze`, with goaccess and fail2ban-regex side by side.
#
# usage: scripts/bench.sh [LINES] [LOG...]
#
#   LINES  lines to generate with `scantriage-gen --seed 1` (default 1000000); ignored
#          when LOG files are given
#   LOG    existing access logs to use instead of a generated one (plain, .gz or .zst;
#          the comparison tools only run on plain files)
#
# Builds the release binaries (cargo --offline; run `cargo fetch` once if dependencies
# are missing), runs `scantriage analyze --no-store --no-progress --output json` RUNS
# times with `-j 1` and with the default (all cores), and prints a markdown table:
# median wall time, lines/s, lines/s per core, peak RSS. goaccess and fail2ban-regex
# (filter nginx-botsearch) are timed on the same input when installed (CMP_RUNS times).
#
# Environment: RUNS (default 5), CMP_RUNS (default 3), CARGO_TARGET_DIR (default
# target/), SCANTRIAGE_CONFIG (a configuration for scantriage; default: none),
# F2B_FILTER (default /etc/fail2ban/filter.d/nginx-botsearch.conf), NO_BUILD=1 (use the
# binaries already in $CARGO_TARGET_DIR/release instead of building).
# Never touches the network; temporary files are removed on exit.

set -euo pipefail

RUNS=${RUNS:-5}
CMP_RUNS=${CMP_RUNS:-3}
F2B_FILTER=${F2B_FILTER:-/etc/fail2ban/filter.d/nginx-botsearch.conf}

die() { echo "bench.sh: $*" >&2; exit 2; }

for v in RUNS CMP_RUNS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

LINES=1000000
if [[ $# -gt 0 && $1 =~ ^[0-9_]+$ ]]; then
    LINES=${1//_/}
    shift
    [[ $LINES -gt 0 ]] || die "LINES must be positive"
fi
LOGS=("$@")
for f in "${LOGS[@]}"; do
    [[ -f $f && -r $f ]] || die "not a readable file: $f"
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-target}
[[ $TARGET = /* ]] || TARGET="$ROOT/$TARGET"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/scantriage-bench.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

NOTES=()
note() { NOTES+=("$*"); }

if [[ ${NO_BUILD:-0} != 1 ]]; then
    echo "building release binaries (offline)..." >&2
    cargo build --offline --release --quiet -p scantriage --bin scantriage \
        -p scantriage-testkit --bin scantriage-gen >&2 \
        || die "cargo build failed (see above; if dependencies are missing, run 'cargo fetch' once, online)"
fi
ST="$TARGET/release/scantriage"
GEN="$TARGET/release/scantriage-gen"
[[ -x $ST && -x $GEN ]] || die "binaries not found under $TARGET/release"

if [[ ${#LOGS[@]} -eq 0 ]]; then
    echo "generating $LINES lines (scantriage-gen --seed 1)..." >&2
    "$GEN" --seed 1 --lines "$LINES" >"$TMP/access.log"
    LOGS=("$TMP/access.log")
    INPUT_DESC="$LINES lines from \`scantriage-gen --seed 1 --lines $LINES\`"
else
    INPUT_DESC="${LOGS[*]}"
fi

# Lines and bytes of the (decompressed) input; comparison tools need plain files.
PLAIN=1
count_lines() {
    case $1 in
        *.gz) gzip -dc -- "$1" ;;
        *.zst) zstd -qdc -- "$1" ;;
        *) cat -- "$1" ;;
    esac | wc -l
}
NLINES=0
for f in "${LOGS[@]}"; do
    case $f in *.gz | *.zst) PLAIN=0 ;; esac
    NLINES=$((NLINES + $(count_lines "$f")))
done
NBYTES=$(cat -- "${LOGS[@]}" | wc -c)
[[ $NLINES -gt 0 ]] || die "the input has no lines"

TIME_BIN=/usr/bin/time
if [[ ! -x $TIME_BIN ]]; then
    TIME_BIN=""
    note "/usr/bin/time is missing, so peak RSS is not measured (Debian/Ubuntu: apt-get install time)."
fi

# measure RUNS CMD...: runs CMD RUNS times (stdout to $OUT, default /dev/null; stderr to
# $TMP/err),
# sets MED_S (median wall seconds) and RSS_KB (largest peak RSS, or empty).
# Returns 1 if a run fails.
measure() {
    local runs=$1
    shift
    local walls=() rss_max=0 i t0 t1 r
    for ((i = 0; i < runs; i++)); do
        t0=$(date +%s%N)
        if [[ -n $TIME_BIN ]]; then
            "$TIME_BIN" -f %M -o "$TMP/rss" "$@" >"${OUT:-/dev/null}" 2>"$TMP/err" </dev/null || return 1
        else
            "$@" >"${OUT:-/dev/null}" 2>"$TMP/err" </dev/null || return 1
        fi
        t1=$(date +%s%N)
        walls+=($((t1 - t0)))
        if [[ -n $TIME_BIN ]]; then
            r=$(tail -n 1 "$TMP/rss")
            if [[ $r =~ ^[0-9]+$ ]] && ((r > rss_max)); then
                rss_max=$r
            fi
        fi
    done
    MED_S=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {
        m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e9 }')
    RSS_KB=$([[ -n $TIME_BIN ]] && echo "$rss_max" || true)
}

ROWS=()
BASE_S=""
# row NAME CORES: appends a table row from MED_S / RSS_KB.
row() {
    local name=$1 cores=$2 rss="n/a" ratio
    [[ -n ${RSS_KB:-} ]] && rss=$(awk -v k="$RSS_KB" 'BEGIN { printf "%.0f", k / 1024 }')
    [[ -n $BASE_S ]] || BASE_S=$MED_S
    ratio=$(awk -v b="$BASE_S" -v m="$MED_S" 'BEGIN { printf "%.2f", m / b }')
    ROWS+=("$(awk -v n="$name" -v c="$cores" -v s="$MED_S" -v l="$NLINES" -v r="$rss" -v x="$ratio" \
        'BEGIN { lps = l / s; printf "| %s | %s | %.3f | %.0f | %.0f | %s | %sx |", n, c, s, lps, lps / c, r, x }')")
}

NPROC=$(nproc)
ST_ARGS=(analyze --no-store --no-progress --output json)

echo "scantriage -j 1 ($RUNS runs)..." >&2
measure "$RUNS" "$ST" "${ST_ARGS[@]}" -j 1 "${LOGS[@]}" \
    || die "scantriage -j 1 failed: $(head -c 2000 "$TMP/err")"
row "scantriage \`-j 1\`" 1

echo "scantriage, all cores ($RUNS runs)..." >&2
measure "$RUNS" "$ST" "${ST_ARGS[@]}" "${LOGS[@]}" \
    || die "scantriage (all cores) failed: $(head -c 2000 "$TMP/err")"
row "scantriage (default, all cores)" "$NPROC"

if [[ $PLAIN -eq 0 ]]; then
    note "Compressed input: goaccess and fail2ban-regex skipped (they read plain files here)."
else
    if command -v goaccess >/dev/null 2>&1; then
        echo "goaccess ($CMP_RUNS runs)..." >&2
        if measure "$CMP_RUNS" goaccess "${LOGS[@]}" --log-format=COMBINED \
            --no-global-config -o "$TMP/goaccess.json"; then
            row "goaccess $(goaccess --version 2>/dev/null | head -n 1 | grep -o '[0-9][0-9.]*[0-9]' | head -n 1) (JSON report)" 1
        else
            note "goaccess failed: $(head -c 300 "$TMP/err" | tr '\n' ' ')"
        fi
    else
        note "goaccess not installed: skipped (Debian/Ubuntu: apt-get install goaccess)."
    fi

    if ! command -v fail2ban-regex >/dev/null 2>&1; then
        note "fail2ban-regex not installed: skipped (Debian/Ubuntu: apt-get install fail2ban)."
    elif [[ ! -r $F2B_FILTER ]]; then
        note "fail2ban filter $F2B_FILTER not found: fail2ban-regex skipped."
    elif [[ ${#LOGS[@]} -ne 1 ]]; then
        note "fail2ban-regex reads one file: skipped for ${#LOGS[@]} inputs."
    else
        echo "fail2ban-regex ($CMP_RUNS runs)..." >&2
        if OUT="$TMP/f2b.out" measure "$CMP_RUNS" fail2ban-regex "${LOGS[0]}" "$F2B_FILTER"; then
            row "fail2ban-regex $(fail2ban-regex --version 2>/dev/null | grep -o '[0-9][0-9.]*[0-9]' | head -n 1) ($(basename "$F2B_FILTER" .conf))" 1
            note "fail2ban-regex: $(grep -m 1 '^Lines:' "$TMP/f2b.out" || echo 'no summary line')"
        else
            note "fail2ban-regex failed: $(head -c 300 "$TMP/err" | tr '\n' ' ')"
        fi
    fi
fi

CPU=$(grep -m 1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo "### scantriage analyze: $NLINES lines, $(awk -v b="$NBYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB"
echo
echo "Input: $INPUT_DESC. Machine: $NPROC cores, ${CPU:-unknown CPU}."
echo "Median of $RUNS runs (scantriage) / $CMP_RUNS runs (others); wall time includes process start."
echo
echo "| tool | cores | median wall (s) | lines/s | lines/s per core | peak RSS (MiB) | time vs scantriage -j 1 |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
if [[ ${#NOTES[@]} -gt 0 ]]; then
    echo
    for n in "${NOTES[@]}"; do echo "- $n"; done
fi
