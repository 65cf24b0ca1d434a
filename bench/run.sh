#!/usr/bin/env bash
# End-to-end benchmark of history-streams over loopback HTTP (nginx, static files) against the raw cost of
# fetching and hashing the same bytes. One command, runs unattended, stops everything it started on exit.
#
#   bench/run.sh [-n N] [--archive DIR] [--only LIST] [--keep]
#
#   -n N            repetitions per measurement, medians are reported (default 3; env BENCH_N)
#   --archive DIR   the archive to serve (default ../shared/fixtures/archives/testnet-small; env BENCH_ARCHIVE)
#   --only LIST     comma-separated subset of: raw,verify,ingest,publish,warm,warmpub,service,scale,tail
#                   (default: all)
#   --short N       checkpoints of the short range in the scale case (default 20)
#   --copies N      archives (/a/, /b/, ...) ingested in sequence into one data dir in the scale case (default 3)
#   --service-warm N  checkpoints a resident `run` worker verifies before the timed `ingest --client` (default 32)
#   --keep          keep the temporary directory (logs, GC logs, outputs) and print its path
#
# Extra JVM options: BENCH_JAVA_OPTS (appended, with the GC log, to the launcher's defaults for each command).
# The JDK: HISTORY_STREAMS_JAVA (as for the launcher; a JDK 25 uses its AOT cache, see the README), named in the header.
# Output: a table (checkpoints/s, MB/s of compressed bytes, ratio to raw HTTP, peak heap, RSS) plus the load average.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
hs="$here/bin/history-streams"
n="${BENCH_N:-3}"
archive="${BENCH_ARCHIVE:-$here/../shared/fixtures/archives/testnet-small}"
only="raw,verify,ingest,publish,warm,warmpub,service,scale,tail"
short=20
service_warm=32
copies=3
keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) n="$2"; shift 2 ;;
    --archive) archive="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --short) short="$2"; shift 2 ;;
    --copies) copies="$2"; shift 2 ;;
    --service-warm) service_warm="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
archive="$(cd "$archive" && pwd -P)"
want() { [[ ",$only," == *",$1,"* ]]; }
for tool in nginx curl jq gzip sha256sum /usr/bin/time bc; do
  command -v "$tool" >/dev/null || [[ -x "$tool" ]] || { echo "bench: $tool is required" >&2; exit 2; }
done
nginx_bin="$(command -v nginx)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/hs-bench.XXXXXX")"
chmod 755 "$tmp" # nginx workers (not root) read the tail mirror under it
tail_pid=""
service_pid=""
stop_pid() { # pid: SIGTERM, up to 10 s, then SIGKILL
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
  fi
}
cleanup() {
  local rc=$?
  stop_pid "$tail_pid"
  stop_pid "$service_pid"
  if [[ -f "$tmp/nginx/nginx.pid" ]]; then
    local pid; pid="$(cat "$tmp/nginx/nginx.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill -QUIT "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if [[ "$keep" == 1 ]]; then echo "bench: kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
maxof() { sort -g | tail -1; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
log() { echo "bench: $*" >&2; }

# --- nginx: the archive at /, the same root again at /a/, /b/, ... and a symlink mirror for tailing at /tail/ ---
port="$(free_port)"
mkdir -p "$tmp/nginx/body" "$tmp/tailroot/.well-known"
for d in "$archive"/*/; do ln -s "${d%/}" "$tmp/tailroot/$(basename "$d")"; done
aliases=""
for ((c = 0; c < copies; c++)); do
  name="$(printf "\\x$(printf %x $((97 + c)))")"
  aliases+="        location /$name/ { alias $archive/; }
"
done
cat >"$tmp/nginx/nginx.conf" <<CONF
daemon on;
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 1024; }
http {
    types { }
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/body;
    fastcgi_temp_path $tmp/nginx/body;
    uwsgi_temp_path $tmp/nginx/body;
    scgi_temp_path $tmp/nginx/body;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:$port;
        root $archive;
$aliases        location /tail/ { alias $tmp/tailroot/; }
    }
}
CONF
"$nginx_bin" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf"
for _ in $(seq 1 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/.well-known/stellar-history.json" && break; sleep 0.1; done
url="http://127.0.0.1:$port/"
log "serving $archive at $url (work dir $tmp)"

# --- the files of a range: per checkpoint its HAS and four .xdr.gz files, plus every bucket its HAS names ---
last_ledger="$(jq -r .currentLedger "$archive/.well-known/stellar-history.json")"
hexpath() { local h; h="$(printf %08x "$2")"; echo "$1/${h:0:2}/${h:2:2}/${h:4:2}/$1-$h.$3"; }
files_of_range() { # from to -> relative paths, one a line
  local cp first=$(( ($1 / 64) * 64 + 63 )) lastcp=$(( ($2 / 64) * 64 + 63 ))
  [[ $first -lt 63 ]] && first=63
  for ((cp = first; cp <= lastcp; cp += 64)); do
    hexpath history "$cp" json
    for t in ledger transactions results scp; do
      local p; p="$(hexpath "$t" "$cp" xdr.gz)"; [[ -f "$archive/$p" ]] && echo "$p"
    done
    jq -r '[.currentBuckets[]?, .hotArchiveBuckets[]?] | .[] | .curr, .snap, (if .next.state == 1 then .next.output else empty end)' \
      "$archive/$(hexpath history "$cp" json)"
  done | awk 'length($0) == 64 && /^[0-9a-f]+$/ { if ($0 !~ /^0+$/) printf "bucket/%s/%s/%s/bucket-%s.xdr.gz\n", substr($0,1,2), substr($0,3,2), substr($0,5,2), $0; next } { print }' \
    | awk '!seen[$0]++'
}
checkpoints_of_range() { local first=$(( ($1 / 64) * 64 + 63 )) lastcp=$(( ($2 / 64) * 64 + 63 )); echo $(( (lastcp - first) / 64 + 1 )); }
files_of_range 1 "$last_ledger" >"$tmp/files-full"
full_cps="$(checkpoints_of_range 1 "$last_ledger")"
full_bytes="$(cd "$archive" && xargs -d '\n' stat -L -c %s <"$tmp/files-full" | awk '{s+=$1} END {print s}')"
full_mb="$(echo "$full_bytes / 1000000" | bc -l)"
log "range 1..$last_ledger: $full_cps checkpoints, $(wc -l <"$tmp/files-full") files, $(printf %.1f "$full_mb") MB"

# --- the JVM runs: wall time and RSS with /usr/bin/time, heap from the GC log ---
jvm_opts() { echo "-Xlog:gc*:file=$1 ${BENCH_JAVA_OPTS:-}"; }
# peak heap after GC (the live set) and before GC (the footprint), in MB, from a unified GC log
# (empty when the JVM never collected: a short client)
heap_after() { { grep -o '[0-9]*M->[0-9]*M([0-9]*M)' "$1" 2>/dev/null || true; } | sed 's/.*->\([0-9]*\)M.*/\1/' | maxof; }
heap_before() { { grep -o '[0-9]*M->[0-9]*M([0-9]*M)' "$1" 2>/dev/null || true; } | sed 's/M->.*//' | maxof; }
# run NAME CMD...: wall seconds, RSS KB, GC log and stdout under $tmp/NAME.*
run() {
  local name="$1"; shift
  HISTORY_STREAMS_EXTRA_JAVA_OPTS="$(jvm_opts "$tmp/$name.gc")" /usr/bin/time -f '%e %M' -o "$tmp/$name.time" \
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || { log "$name failed (exit $?):"; tail -5 "$tmp/$name.err" "$tmp/$name.out" >&2; return 1; }
}
wall() { cut -d' ' -f1 "$tmp/$1.time"; }
rss_mb() { echo $(( $(cut -d' ' -f2 "$tmp/$1.time") / 1024 )); }
# "...; 42.0 MB fetched; 31.20 s (service up after 4.10 s)..." -> "31.20 4.10"
summary_times() { sed -n 's/.*; \([0-9.]*\) s (service up after \([0-9.]*\) s).*/\1 \2/p' "$tmp/$1.out" | tail -1; }

declare -A R # results: R[key,field]
record() { R["$1,$2"]="$3"; }

# untimed warm-up: builds the jar if needed, writes the class-data archives (one per command: verify's, and ingest's,
# which the first ingest after a build would otherwise write at its exit, timed), warms the page cache and nginx
log "warm-up (load $(load))"
"$hs" verify --archive "$url" --quiet >/dev/null
if want ingest || want publish || want scale; then
  "$hs" ingest --archive "$url" --from 1 --to 127 --data-dir "$tmp/data-warm-up" --http-port -1 --quiet >/dev/null 2>&1
fi
cat "$tmp/files-full" | (cd "$archive" && xargs -d '\n' cat) >/dev/null

raw_http() { # list-file dir -> fetch with one curl, then hash
  local list="$1" dir="$2"
  rm -rf "$dir"; mkdir -p "$dir"
  awk -v u="$url" -v d="$dir" '{ printf "url = \"%s%s\"\noutput = \"%s/%s\"\n", u, $0, d, $0 }' "$list" >"$dir.curlrc"
  curl --parallel --parallel-max 16 --create-dirs --no-progress-meter --fail -K "$dir.curlrc"
  (cd "$dir" && { grep '\.gz$' "$list" | xargs -d '\n' cat | gzip -dc; grep -v '\.gz$' "$list" | xargs -d '\n' cat; } | sha256sum >/dev/null)
}
raw_disk() {
  (cd "$archive" && { grep '\.gz$' "$1" | xargs -d '\n' cat | gzip -dc; grep -v '\.gz$' "$1" | xargs -d '\n' cat; } | sha256sum >/dev/null)
}

# one raw sample (HTTP and disk); also taken before every verify/ingest repetition, so the baseline sees the same
# machine load as what it is compared with (the median of all samples is the denominator).
# Nothing a repetition writes is deleted before the bench ends: on ext4 without a journal (this machine's root file
# system) every file created within minutes of a mass deletion makes the kernel scan the freed inodes' deletion times
# (recently_deleted() in ext4_new_inode), so deleting the previous repetition's 2,000-4,000 files and directories
# slowed the next one's file creation (curl's as much as ours) in a way no real run pays.
raw_samples=0
raw_sample() {
  want raw || return 0
  local t0 t1
  raw_samples=$((raw_samples + 1))
  t0="$(now)"; raw_http "$tmp/files-full" "$tmp/raw-files-$raw_samples"; t1="$(now)"
  echo "$t1 - $t0" | bc -l >>"$tmp/raw-http.s"
  t0="$(now)"; raw_disk "$tmp/files-full"; t1="$(now)"
  echo "$t1 - $t0" | bc -l >>"$tmp/raw-disk.s"
}

if want raw; then
  log "raw (load $(load))"
  for ((i = 0; i < n; i++)); do raw_sample; done
fi

if want verify; then
  log "verify (load $(load))"
  for ((i = 0; i < n; i++)); do
    raw_sample
    run "verify-$i" "$hs" verify --archive "$url" --quiet
    wall "verify-$i" >>"$tmp/verify.s"; rss_mb "verify-$i" >>"$tmp/verify.rss"
    heap_after "$tmp/verify-$i.gc" >>"$tmp/verify.heap"; heap_before "$tmp/verify-$i.gc" >>"$tmp/verify.heapb"
  done
  record verify s "$(median <"$tmp/verify.s")"
fi

ingest_once() { # name data-dir archive-url from to [extra args...]
  local name="$1" dd="$2" u="$3" from="$4" to="$5"; shift 5
  run "$name" "$hs" ingest --archive "$u" --from "$from" --to "$to" --data-dir "$dd" --http-port -1 --quiet \
    --timeout "${BENCH_TIMEOUT:-600}" "$@"
  local st; st="$(summary_times "$name")"
  [[ -n "$st" ]] || { log "$name: no summary line"; cat "$tmp/$name.out" >&2; return 1; }
  grep -q "$(checkpoints_of_range "$from" "$to") verified, 0 failed, 0 given up" "$tmp/$name.out" \
    || { log "$name: not every checkpoint verified:"; cat "$tmp/$name.out" >&2; return 1; }
  echo "$st" >"$tmp/$name.st"
}
collect_ingest() { # key name
  local key="$1" name="$2"
  wall "$name" >>"$tmp/$key.s"; rss_mb "$name" >>"$tmp/$key.rss"
  heap_after "$tmp/$name.gc" >>"$tmp/$key.heap"; heap_before "$tmp/$name.gc" >>"$tmp/$key.heapb"
  cut -d' ' -f1 "$tmp/$name.st" >>"$tmp/$key.inproc"; cut -d' ' -f2 "$tmp/$name.st" >>"$tmp/$key.up"
}

if want ingest; then
  log "ingest (load $(load))"
  for ((i = 0; i < n; i++)); do
    raw_sample
    rm -rf "$tmp/data-ingest-$i"; ingest_once "ingest-$i" "$tmp/data-ingest-$i" "$url" 1 "$last_ledger"
    collect_ingest ingest "ingest-$i"
  done
fi

# check_mirror DIR DIFF: the mirror DIR must hold every file of the range, byte for byte (the differing ones go to DIFF)
check_mirror() {
  (cd "$archive" && grep -v '^\.well-known' "$tmp/files-full" | while read -r f; do cmp -s "$f" "$1/$f" || echo "$f"; done) >"$2"
  [[ ! -s "$2" ]] || { log "published mirror $1 differs in $(wc -l <"$2") files"; exit 1; }
}

if want publish; then
  log "ingest --publish-to (load $(load))"
  for ((i = 0; i < n; i++)); do
    raw_sample
    rm -rf "$tmp/data-publish-$i" "$tmp/published-$i"; ingest_once "publish-$i" "$tmp/data-publish-$i" "$url" 1 "$last_ledger" --publish-to "$tmp/published-$i"
    collect_ingest publish "publish-$i"
    check_mirror "$tmp/published-$i" "$tmp/publish-$i.diff"
  done
fi

if want service; then
  # A resident service: a `run` worker on its own embedded broker, started (untimed) and warmed by an `ingest --client`
  # of the first $service_warm checkpoints (untimed); then the timed `ingest --client` of the rest of the range, a
  # fresh JVM that runs no pipeline (it requests the range from the worker and waits for the verdicts). The worker
  # keeps the buckets it verified during the warm-up, as a running service does, so the raw baseline of this case is
  # measured on the same new bytes: the files of the rest of the range that the warm-up range does not name. The
  # worker fetches as many files at once as `ingest` does from a loopback archive (cores + 1).
  warm_to=$(( service_warm * 64 - 1 ))
  files_of_range 1 "$warm_to" | sort >"$tmp/files-service-warm"
  files_of_range $(( warm_to + 1 )) "$last_ledger" | sort | comm -23 - "$tmp/files-service-warm" >"$tmp/files-service"
  service_cps="$(checkpoints_of_range $(( warm_to + 1 )) "$last_ledger")"
  service_bytes="$(cd "$archive" && xargs -d '\n' stat -L -c %s <"$tmp/files-service" | awk '{s+=$1} END {print s}')"
  log "resident service: $service_warm checkpoints to warm up, then $service_cps timed ($(wc -l <"$tmp/files-service") new files, $(printf %.1f "$(echo "$service_bytes / 1000000" | bc -l)") MB; load $(load))"
  for ((i = 0; i < n; i++)); do
    t0="$(now)"; raw_http "$tmp/files-service" "$tmp/raw-service-$i"; t1="$(now)"
    echo "$t1 - $t0" | bc -l >>"$tmp/raw-service.s"
    sdd="$tmp/data-service-$i"; sport="$(free_port)"
    HISTORY_STREAMS_EXTRA_JAVA_OPTS="$(jvm_opts "$tmp/service-worker-$i.gc")" "$hs" run --data-dir "$sdd" \
      --http-port "$sport" --fetch-concurrency $(( $(nproc) + 1 )) >"$tmp/service-worker-$i.out" 2>"$tmp/service-worker-$i.err" &
    service_pid=$!
    t0="$(now)"
    until curl -fs -o /dev/null "http://127.0.0.1:$sport/health/ready"; do
      kill -0 "$service_pid" 2>/dev/null || { log "run exited"; tail -20 "$tmp/service-worker-$i.err" >&2; exit 1; }
      (( $(echo "$(now) - $t0 > 120" | bc) )) && { log "run: not ready in 120 s"; exit 1; }
      sleep 0.1
    done
    bootstrap="$(grep -o 'Embedded Kafka broker up at [0-9.:]*' "$tmp/service-worker-$i.err" | awk '{print $6}')"
    client=(--bootstrap-servers "$bootstrap" --client)
    run "service-warm-$i" "$hs" ingest --archive "$url" --from 1 --to "$warm_to" --data-dir "$sdd" --http-port -1 \
      --quiet --timeout "${BENCH_TIMEOUT:-600}" "${client[@]}"
    grep -q "$service_warm verified, 0 failed, 0 given up" "$tmp/service-warm-$i.out" \
      || { log "resident service warm-up: not every checkpoint verified:"; cat "$tmp/service-warm-$i.out" >&2; exit 1; }
    ingest_once "service-$i" "$sdd" "$url" $(( warm_to + 1 )) "$last_ledger" "${client[@]}"
    collect_ingest service "service-$i"
    stop_pid "$service_pid"; service_pid=""
    heap_after "$tmp/service-worker-$i.gc" >>"$tmp/service-worker.heap"
    heap_before "$tmp/service-worker-$i.gc" >>"$tmp/service-worker.heapb"
  done
  record raw-service s "$(median <"$tmp/raw-service.s")"
fi

if want scale; then
  short_to=$(( short * 64 - 1 ))
  files_of_range 1 "$short_to" >"$tmp/files-short"
  short_bytes="$(cd "$archive" && xargs -d '\n' stat -L -c %s <"$tmp/files-short" | awk '{s+=$1} END {print s}')"
  log "scale: short range 1..$short_to (load $(load))"
  for ((i = 0; i < n; i++)); do
    rm -rf "$tmp/data-short-$i"; ingest_once "short-$i" "$tmp/data-short-$i" "$url" 1 "$short_to"
    collect_ingest short "short-$i"
  done
  rm -rf "$tmp/data-copies"
  log "scale: $copies archives in sequence into one data dir (load $(load))"
  for ((c = 0; c < copies; c++)); do
    name="$(printf "\\x$(printf %x $((97 + c)))")"
    # a topic prefix and application id per archive: each is a separate pipeline (the request gate would otherwise
    # skip checkpoints another archive of the same network already verified), all on one broker and one blob store
    ingest_once "copy-$name" "$tmp/data-copies" "$url$name/" 1 "$last_ledger" \
      -D "topic.prefix=$name." --application-id "hs-$name" || exit 1
    collect_ingest "copy-$name" "copy-$name"
  done
fi

# the same ingest N+1 times in one JVM (bench/WarmIngest.java), each with a fresh data dir and broker: the first is
# cold, the others show the pipeline once the JIT has compiled it. JVM options as bin/history-streams gives ingest
# (its default JIT mode, hashing), without the class-data archive (another class path). $1: the key (warm, warmpub),
# then extra ingest arguments ("{run}" is the run's number).
warm_jvm() {
  local key="$1"; shift
  log "warm JVM${1:+ $*}: $((n + 1)) ingests in one JVM (load $(load))"
  . "$here/bin/jit-options"
  jit_options hashing
  java -XX:+UseParallelGC -Xss1m "${jit_opts[@]}" -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.historystreams \
    -cp "$here/target/history-streams.jar" "$here/bench/WarmIngest.java" $((n + 1)) ingest --archive "$url" --from 1 \
    --to "$last_ledger" --timeout "${BENCH_TIMEOUT:-600}" "$@" >"$tmp/$key.out" 2>"$tmp/$key.err" \
    || { log "warm JVM run failed:"; tail -5 "$tmp/$key.err" "$tmp/$key.out" >&2; exit 1; }
  [[ "$(grep -c "$full_cps verified, 0 failed, 0 given up" "$tmp/$key.out")" == $((n + 1)) ]] \
    || { log "warm JVM: not every checkpoint verified:"; cat "$tmp/$key.out" >&2; exit 1; }
  # after the service was up, runs 2..N+1
  sed -n 's/.*; \([0-9.]*\) s (service up after \([0-9.]*\) s).*/\1 \2/p' "$tmp/$key.out" | tail -n +2 \
    | awk '{print $1 - $2}' >"$tmp/$key.s"
  record "$key" s "$(median <"$tmp/$key.s")"
}

if want warm; then
  warm_jvm warm
fi

if want warmpub; then
  warm_jvm warmpub --publish-to "$tmp/warm-published-{run}"
  for ((i = 0; i <= n; i++)); do
    check_mirror "$tmp/warm-published-$i" "$tmp/warmpub-$i.diff"
  done
fi

if want tail; then
  log "tail latency (load $(load))"
  tdd="$tmp/data-tail"; mport="$(free_port)"
  start_cp=$(( ((last_ledger / 64) * 64 + 63) - 64 * (n + 1) ))
  point_to() { # atomically switch .well-known to the HAS of checkpoint $1
    ln -sfn "$archive/$(hexpath history "$1" json)" "$tmp/tailroot/.well-known/.next"
    mv -T "$tmp/tailroot/.well-known/.next" "$tmp/tailroot/.well-known/stellar-history.json"
  }
  verified_count() { curl -fs "http://127.0.0.1:$mport/metrics" 2>/dev/null \
    | awk '/^history_checkpoints_verified_total/ {print int($2)}' | head -1; }
  point_to "$start_cp"
  HISTORY_STREAMS_EXTRA_JAVA_OPTS="$(jvm_opts "$tmp/tail.gc")" "$hs" tail --archive "${url}tail/" --interval 2 \
    --http-port "$mport" --data-dir "$tdd" >"$tmp/tail.out" 2>"$tmp/tail.err" &
  tail_pid=$!
  t0="$(now)"
  until [[ "$(verified_count)" == 1 ]]; do
    kill -0 "$tail_pid" 2>/dev/null || { log "tail exited"; tail -20 "$tmp/tail.err" >&2; exit 1; }
    (( $(echo "$(now) - $t0 > 120" | bc) )) && { log "tail: first checkpoint not verified in 120 s"; exit 1; }
    sleep 0.1
  done
  record tail first "$(echo "$(now) - $t0" | bc -l)"
  for ((i = 1; i <= n; i++)); do
    point_to $(( start_cp + 64 * i ))
    t0="$(now)"
    until [[ "$(verified_count)" == $((i + 1)) ]]; do
      (( $(echo "$(now) - $t0 > 60" | bc) )) && { log "tail: checkpoint not verified in 60 s"; exit 1; }
      sleep 0.05
    done
    echo "$(now) - $t0" | bc -l >>"$tmp/tail.s"
  done
  kill -TERM "$tail_pid"; wait "$tail_pid" || true; tail_pid=""
  record tail s "$(median <"$tmp/tail.s")"
fi

# --- report ---
if [[ -f "$tmp/raw-http.s" ]]; then
  record raw-http s "$(median <"$tmp/raw-http.s")"
  record raw-disk s "$(median <"$tmp/raw-disk.s")"
fi
raw="${R[raw-http,s]:-}"
echo
echo "history-streams bench: $(basename "$archive") over $url, $full_cps checkpoints, $(printf %.1f "$full_mb") MB, median of $n (raw: of $(cat "$tmp/raw-http.s" 2>/dev/null | wc -l) samples spread over the run)"
echo "host: $(nproc) cores, load average at end $(load); $("${HISTORY_STREAMS_JAVA:-java}" -version 2>&1 | head -1)${HISTORY_STREAMS_JAVA:+ (HISTORY_STREAMS_JAVA)}"
printf '%-44s %8s %8s %7s %7s %8s %10s %8s\n' case seconds "cp/s" "MB/s" "x raw" "up s" "heap MB" "RSS MB"
line() { # label seconds checkpoints MB [up] [heap-after/before] [rss]
  local ratio="-"
  [[ -n "$raw" ]] && ratio="$(printf %.2f "$(echo "$2 / $raw" | bc -l)")"
  printf '%-44s %8.2f %8.1f %7.1f %7s %8s %10s %8s\n' "$1" "$2" "$(echo "$3 / $2" | bc -l)" "$(echo "$4 / $2" | bc -l)" \
    "$ratio" "${5:--}" "${6:--}" "${7:--}"
}
heapcell() { echo "$(maxof <"$tmp/$1.heap")/$(maxof <"$tmp/$1.heapb")"; }
[[ -n "$raw" ]] && line "raw HTTP (curl x16 + gzip + sha256)" "$raw" "$full_cps" "$full_mb"
[[ -n "${R[raw-disk,s]:-}" ]] && line "raw disk (cat + gzip + sha256)" "${R[raw-disk,s]}" "$full_cps" "$full_mb"
if [[ -n "${R[verify,s]:-}" ]]; then
  line "verify HTTP (whole command)" "${R[verify,s]}" "$full_cps" "$full_mb" - "$(heapcell verify)" "$(maxof <"$tmp/verify.rss")"
fi
for key in ingest publish short; do
  [[ -f "$tmp/$key.s" ]] || continue
  cps="$full_cps"; mb="$full_mb"; label="ingest"
  [[ "$key" == publish ]] && label="ingest --publish-to"
  [[ "$key" == short ]] && { cps="$short"; mb="$(echo "$short_bytes / 1000000" | bc -l)"; label="ingest $short cp (scale)"; }
  up="$(median <"$tmp/$key.up")"; inproc="$(median <"$tmp/$key.inproc")"
  line "$label (whole command)" "$(median <"$tmp/$key.s")" "$cps" "$mb" "$up" "$(heapcell "$key")" "$(maxof <"$tmp/$key.rss")"
  # in-process time after the service was up (what the pipeline itself costs); pair per run, then the median
  paste -d' ' "$tmp/$key.inproc" "$tmp/$key.up" | awk '{print $1 - $2}' >"$tmp/$key.net"
  line "$label (excl. broker start)" "$(median <"$tmp/$key.net")" "$cps" "$mb"
done
if [[ -n "${R[warm,s]:-}" ]]; then
  line "ingest, warm JVM (excl. start)" "${R[warm,s]}" "$full_cps" "$full_mb"
fi
if [[ -n "${R[warmpub,s]:-}" ]]; then
  line "ingest --publish-to, warm JVM (excl. start)" "${R[warmpub,s]}" "$full_cps" "$full_mb"
fi
if [[ -f "$tmp/service.s" ]]; then
  # against the raw time of the same new bytes, measured in this case
  service_mb="$(echo "$service_bytes / 1000000" | bc -l)"
  paste -d' ' "$tmp/service.inproc" "$tmp/service.up" | awk '{print $1 - $2}' >"$tmp/service.net"
  raw_all="$raw"; raw="${R[raw-service,s]}"
  line "resident service: raw HTTP, new files" "$raw" "$service_cps" "$service_mb"
  # heap: the worker's (the client's JVM seldom collects at all); RSS: the client's
  line "ingest --client (whole command)" "$(median <"$tmp/service.s")" "$service_cps" "$service_mb" \
    "$(median <"$tmp/service.up")" "$(heapcell service-worker)" "$(maxof <"$tmp/service.rss")"
  line "ingest --client (excl. client start)" "$(median <"$tmp/service.net")" "$service_cps" "$service_mb"
  raw="$raw_all"
fi
for ((c = 0; c < copies; c++)); do
  name="$(printf "\\x$(printf %x $((97 + c)))")"
  [[ -f "$tmp/copy-$name.s" ]] || continue
  paste -d' ' "$tmp/copy-$name.inproc" "$tmp/copy-$name.up" | awk '{print $1 - $2}' >"$tmp/copy-$name.net"
  line "archive /$name/ #$((c + 1)) one data dir (excl.)" "$(cat "$tmp/copy-$name.net")" "$full_cps" "$full_mb" \
    "$(cat "$tmp/copy-$name.up")" "$(heapcell "copy-$name")" "$(cat "$tmp/copy-$name.rss")"
done
if [[ -n "${R[tail,s]:-}" ]]; then
  printf 'tail: new checkpoint verified %.2f s after .well-known moved (median of %d: %s; poll interval 2 s); first checkpoint %.1f s after start\n' \
    "${R[tail,s]}" "$n" "$(tr '\n' ' ' <"$tmp/tail.s" | xargs printf '%.2f ')" "${R[tail,first]}"
fi
echo "heap MB = max heap after GC (live set) / max heap before GC, from -Xlog:gc*; RSS = max of /usr/bin/time %M"
[[ -f "$tmp/raw-http.s" ]] && echo "raw runs (s): http $(xargs printf '%.2f ' <"$tmp/raw-http.s") disk $(xargs printf '%.2f ' <"$tmp/raw-disk.s")"
for key in verify ingest publish short; do
  [[ -f "$tmp/$key.s" ]] && echo "$key runs (s): $(tr '\n' ' ' <"$tmp/$key.s")$( [[ -f "$tmp/$key.up" ]] && echo "; up: $(tr '\n' ' ' <"$tmp/$key.up")")"
done
[[ -f "$tmp/service.s" ]] && echo "resident service ($service_cps checkpoints after $service_warm, ratios to the raw time of their new files): raw runs (s) $(xargs printf '%.2f ' <"$tmp/raw-service.s"); ingest --client runs (s) $(tr '\n' ' ' <"$tmp/service.s"); up: $(tr '\n' ' ' <"$tmp/service.up")"
[[ -f "$tmp/warm.s" ]] && echo "warm JVM runs 2.. (s, excl. start): $(xargs printf '%.2f ' <"$tmp/warm.s"); $(grep -o 'warm run 0: .*' "$tmp/warm.out")"
[[ -f "$tmp/warmpub.s" ]] && echo "warm JVM --publish-to runs 2.. (s, excl. start): $(xargs printf '%.2f ' <"$tmp/warmpub.s"); $(grep -o 'warm run 0: .*' "$tmp/warmpub.out")"
exit 0
