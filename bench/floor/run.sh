#!/usr/bin/env bash
# The floor of the pipeline: how long a cold `ingest` takes when parts of its work are removed. Builds the current
# commit (HEAD) in a temporary git worktree with bench/floor/without-work.patch applied, which adds two switches
# that are NEVER in the product (they drop required outputs):
#   -Dexp.noLedgerEvents=true   the chain check emits no per-ledger events (10,047 for testnet-small)
#   -Dexp.noBuckets=true        the HAS fetcher requests no buckets (1,943 requests, 1,169 files, the bucket stage)
# and runs interleaved `ingest`s of a local archive directory (a fresh data dir each) with neither, each and both
# switches. Prints each variant's runs and median, excluding start-up (the command's elapsed time minus its
# "service up after X s"), and the ratio to a raw cost given with -r (default: none printed).
# Usage: bench/floor/run.sh [-n ROUNDS=3] [-r RAW_SECONDS] [archive dir]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
n=3 raw=""
while getopts "n:r:" o; do case "$o" in n) n="$OPTARG" ;; r) raw="$OPTARG" ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
archive="$(cd "${1:-$here/../shared/fixtures/archives/testnet-small}" && pwd)"
tmp="$(mktemp -d)"
cleanup() { git -C "$here" worktree remove --force "$tmp/tree" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
git -C "$here" worktree add --detach "$tmp/tree" HEAD >/dev/null 2>&1
if ! git -C "$tmp/tree" apply "$here/bench/floor/without-work.patch"; then
  echo "floor: bench/floor/without-work.patch does not apply to HEAD any more; update it" >&2
  exit 2
fi
echo "floor: building the patched tree ..." >&2
(cd "$tmp/tree" && mvn -B -q -DskipTests package >&2)
hs="$tmp/tree/bin/history-streams"
to=$(( $(jq -r .currentLedger "$archive/.well-known/stellar-history.json") ))
variants=("as built|" "no ledger events|-Dexp.noLedgerEvents=true" "no buckets|-Dexp.noBuckets=true"
  "neither|-Dexp.noLedgerEvents=true -Dexp.noBuckets=true")
run() { # $1 = JVM options, $2 = data dir; prints "elapsed up"
  HISTORY_STREAMS_EXTRA_JAVA_OPTS="$1" "$hs" ingest --archive "$archive" --from 1 --to "$to" --data-dir "$2" \
    --http-port -1 --quiet 2>/dev/null | sed -n 's/.*; \([0-9.]*\) s (service up after \([0-9.]*\) s).*/\1 \2/p'
}
run "" "$tmp/warm-up" >/dev/null # untimed: writes the class-data archive, warms the page cache
for ((r = 1; r <= n; r++)); do
  for i in "${!variants[@]}"; do
    t=$(run "${variants[$i]#*|}" "$tmp/data-$i-$r")
    [[ -n "$t" ]] || { echo "floor: run of '${variants[$i]%%|*}' failed" >&2; exit 1; }
    echo "$t" | awk '{printf "%.2f\n", $1 - $2}' >>"$tmp/v$i"
  done
done
echo "cold ingest of $archive (1..$to), excl. start, $n interleaved runs; load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!variants[@]}"; do
  m=$(sort -g "$tmp/v$i" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
  ratio=""; [[ -n "$raw" ]] && ratio=$(echo "$m / $raw" | bc -l | xargs printf '  %.1fx raw')
  printf '%-18s median %5.2f s%s   runs: %s\n' "${variants[$i]%%|*}" "$m" "$ratio" "$(tr '\n' ' ' <"$tmp/v$i")"
done
