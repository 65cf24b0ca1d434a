#!/usr/bin/env bash
# Compares `history-streams verify` of a local archive with the raw cost of reading the same bytes
# (every .xdr.gz cat into one gzip -dc into one sha256sum). Prints medians, the ratio and peak RSS.
# Usage: bench/verify-local.sh [N=5] [archive dir]   (extra JVM options via HISTORY_STREAMS_JAVA_OPTS)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-5}"
archive="$(cd "${2:-$here/../shared/fixtures/archives/testnet-small}" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
# untimed warm-up: builds the jar if needed, writes the class-data archive, warms the page cache
"$here/bin/history-streams" verify --archive "$archive" --quiet >/dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 0; i < n; i++)); do
  /usr/bin/time -f '%e %M' -o "$tmp/t" bash -c \
    "cd '$archive' && find . -type f -name '*.gz' -print0 | xargs -0 cat | gzip -dc | sha256sum >/dev/null"
  cut -d' ' -f1 "$tmp/t" >>"$tmp/raw"
  /usr/bin/time -f '%e %M' -o "$tmp/t" "$here/bin/history-streams" verify --archive "$archive" --quiet >"$tmp/out"
  cut -d' ' -f1 "$tmp/t" >>"$tmp/verify"; cut -d' ' -f2 "$tmp/t" >>"$tmp/rss"
  sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$tmp/out" >>"$tmp/inproc"
  /usr/bin/time -f '%e' -o "$tmp/t" "$here/bin/history-streams" --version >/dev/null
  cat "$tmp/t" >>"$tmp/start"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
# one more run, with the launcher's own options plus a GC log, for the heap: young + old used and committed at exit
# (ParallelGC/SerialGC layout), the GC count and the largest heap before a GC
HISTORY_STREAMS_EXTRA_JAVA_OPTS="-Xlog:gc,gc+heap+exit:file=$tmp/gc.log" \
  "$here/bin/history-streams" verify --archive "$archive" --quiet >/dev/null
heap=$(awk '/exit/ && /(PSYoungGen|ParOldGen|def new generation|tenured generation)/ {
  for (i = 1; i <= NF; i++) { if ($i == "total") t += $(i+1); if ($i == "used") u += $(i+1) } }
  END { printf "%d MB used, %d MB committed", u / 1024, t / 1024 }' "$tmp/gc.log")
gcs=$(grep -c 'Pause' "$tmp/gc.log" || true)
prepeak=$(sed -n 's/.*Pause.* \([0-9]*\)M->[0-9]*M.*/\1/p' "$tmp/gc.log" | sort -n | tail -1)
tail -1 "$tmp/out"
raw=$(median <"$tmp/raw"); ver=$(median <"$tmp/verify"); inp=$(median <"$tmp/inproc"); st=$(median <"$tmp/start")
rss=$(sort -n "$tmp/rss" | tail -1)
printf 'runs:                 %d\n' "$n"
printf 'raw median:           %.2f s   (%s)\n' "$raw" "$(tr '\n' ' ' <"$tmp/raw")"
printf 'verify median:        %.2f s   (%s)\n' "$ver" "$(tr '\n' ' ' <"$tmp/verify")"
printf 'verify in-process:    %.2f s   (%s)\n' "$inp" "$(tr '\n' ' ' <"$tmp/inproc")"
printf 'JVM start (--version): %.2f s\n' "$st"
printf 'ratio verify/raw:     %.2f   (in-process/raw: %.2f)\n' "$(echo "$ver / $raw" | bc -l)" "$(echo "$inp / $raw" | bc -l)"
printf 'peak RSS:             %d MB (max of the verify runs)\n' "$((rss / 1024))"
printf 'heap at exit:         %s; %s GC pauses (largest heap before a GC: %s MB)\n' "$heap" "$gcs" "${prepeak:-none}"
