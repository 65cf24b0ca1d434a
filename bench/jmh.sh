#!/usr/bin/env bash
# JMH micro-benchmarks of the verification hot paths on the real files of testnet-small, held in memory
# (src/test/java/io/historystreams/bench/VerifyHotPaths.java: each verifier beside the JDK's floor for the same bytes).
#
#   bench/jmh.sh [--jit full|hashing|c1] [JMH options and benchmark regexps...]
#   bench/jmh.sh                          # all benchmarks, the JVM's full JIT (5 x 2 s warm-up, 5 x 2 s measured)
#   bench/jmh.sh --jit hashing buckets    # the bucket benchmarks with the launcher's default JIT mode (bin/jit-options)
#   bench/jmh.sh -wi 2 -i 3               # shorter
#
# Prints JMH's own output, then a table: seconds per operation (one operation = a whole file type of the fixture)
# and MB/s of compressed input. Needs Maven and jq; the JDK is the one on PATH (or JAVA_HOME's).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jit=full
if [[ "${1:-}" == "--jit" ]]; then jit="$2"; shift 2; fi
. "$here/bin/jit-options"
jit_options "$jit" || { echo "bench/jmh.sh: unknown JIT mode '$jit' (full, hashing, c1)" >&2; exit 2; }
cd "$here"
mvn -B -q test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/jmh.classpath
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
fixtures="$(cd "$here/../shared/fixtures/archives" && pwd)"
result="$(mktemp /tmp/jmh-result.XXXXXX.json)"
trap 'rm -f "$result"' EXIT
"$java" -cp "target/test-classes:target/classes:$(cat target/jmh.classpath)" org.openjdk.jmh.Main \
  -jvmArgsAppend "-Dfixtures.dir=$fixtures ${jit_opts[*]}" -rf json -rff "$result" "${@:-VerifyHotPaths}"
echo
echo "JIT mode: $jit; $("$java" -version 2>&1 | head -1)"
printf '%-28s %10s %10s %8s\n' benchmark "s/op" "MB/s" "error"
jq -r '.[] | [(.benchmark | sub(".*\\."; "")), (1 / .primaryMetric.score),
    (.secondaryMetrics.compressedBytes.score / 1000000),
    (if .primaryMetric.scoreError == "NaN" then "-"
     else "\(100 * .primaryMetric.scoreError / .primaryMetric.score | round) %" end)]
    | @tsv' "$result" \
  | while IFS=$'\t' read -r name sop mbs err; do printf '%-28s %10.4f %10.1f %8s\n' "$name" "$sop" "$mbs" "$err"; done
echo "error: half JMH's 99.9 % confidence interval, relative to the score (- : too few iterations to tell)"
