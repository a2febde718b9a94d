#!/usr/bin/env bash
# Benchmarks: each measures a ceiling and the project side by side in the same run and writes
# Markdown + CSV + PNG under a results folder (docs/benchmarks.md explains them).
#
#   scripts/bench.sh e2e       [--quick] [options]   job vs Kafka ConsumerPerformance and the Flink floor
#   scripts/bench.sh stages    [--quick] [options]   per-byte cost of each stage (JMH hot loops + raw fetch)
#   scripts/bench.sh memory    [--quick] [options]   job heap and checkpointed state vs model size
#   scripts/bench.sh publisher [--quick] [options]   WeightPublisher vs Kafka ProducerPerformance
#   scripts/bench.sh publish-parallel [--sizes 512m] [--producers 1,2,4,8]   N producers vs N ProducerPerformance processes
#   scripts/bench.sh rollback  [--quick] [options]   resident rollback latency; replay vs a raw consumer
#   scripts/bench.sh all       [--quick] [options]   all five, then the report
#   scripts/bench.sh report    [--out DIR]           report.md, summary.csv and plots from the CSVs in DIR
#   scripts/bench.sh gpu-prepare DIR                 jars for the GPU benchmark, for a GPU host without Maven:
#                                                    there, java -cp 'DIR/lib/*' io.weightpub.bench.GpuBench OUT
#
# Options: --out DIR (default results/latest; results/tmp/quick with --quick), --runs N, --sizes 1g,4g,16g,
#   --workers 1,3, --mem-budget SIZE (default: the machine's available memory), --fetch-size SIZE,
#   --checkpoint-ms N. Environment: BENCH_NOTE (a line quoted at the top of the report, e.g. that the
#   machine was shared), BENCH_MAVEN_ARGS (default -o), BENCH_BROKER_HEAP (default 1g).
#
# The broker is a standalone KRaft broker process (scripts/cluster/start-kafka.sh) on 127.0.0.1, stopped
# and deleted when the script ends; every benchmark JVM runs apart from it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cmd=${1:-}
[ -n "$cmd" ] || { sed -n '2,20p' "$0" >&2; exit 2; }
shift
MVN_ARGS=${BENCH_MAVEN_ARGS--o}

build() {
  cd "$root"
  # shellcheck disable=SC2086
  mvn -B -q $MVN_ARGS -pl bench package -DskipTests >&2
  # shellcheck disable=SC2086
  mvn -B -q $MVN_ARGS -pl bench dependency:build-classpath -Dmdep.outputFile="$root/bench/target/classpath.txt" \
      -Dmdep.includeScope=runtime >&2
  # A private copy of every jar: other modules re-install theirs into ~/.m2 at any time, and a jar
  # replaced under a running benchmark breaks its class loading.
  local lib="$root/bench/target/bench-lib"
  rm -rf "$lib"
  mkdir -p "$lib"
  local jars
  IFS=: read -r -a jars <<<"$(cat "$root/bench/target/classpath.txt")"
  cp "${jars[@]}" "$lib/"
  cp "$(ls "$root"/bench/target/weightpub-bench-*.jar | grep -v -e '-tests.jar' | head -1)" "$lib/"
  echo "$lib/*"
}

case "$cmd" in
  e2e|stages|memory|publisher|publish-parallel|rollback|all|report) ;;
  gpu-prepare)
    dir=${1:?usage: scripts/bench.sh gpu-prepare DIR}
    cp=$(build)
    rm -rf "$dir"
    mkdir -p "$dir/lib"
    cp "${cp%/\*}"/*.jar "$dir/lib/"
    # No log4j: its core needs java.desktop, which a small jlink'ed runtime for GPU hosts leaves out;
    # the runners print their own failures.
    rm -f "$dir"/lib/log4j-core-*.jar "$dir"/lib/log4j-slf4j*-impl-*.jar "$dir"/lib/log4j-1.2-api-*.jar
    compgen -G "$dir/lib/jcuda-natives-*-linux-x86_64.jar" >/dev/null \
        || { echo "the JCuda linux-x86_64 natives jar is missing from $dir/lib" >&2; exit 1; }
    cat >"$dir/README.txt" <<'TXT'
GPU benchmark (weightpub bench). On the GPU host, with a Java 17+ runtime (a full JDK, or a jlink'ed
one with at least java.base, java.logging, java.management, jdk.management, java.naming, java.sql,
jdk.unsupported and jdk.crypto.ec):

  java -Xmx8g -cp 'lib/*' io.weightpub.bench.GpuBench OUT [--version-mib 2048] [--rounds 3] [--flips 200]
       [--readers 4] [--sizes 4g] [--workers 1] [--runs 3] [--bootstrap HOST:PORT] [--skip-e2e]

It measures pinned host-to-device bandwidth, the CUDA store's staging throughput and flip latency
under concurrent readers (the sink's CudaStagingBenchmark), then the job end to end with CUDA
stores from a broker on that host (in-process unless --bootstrap). Copy OUT/*.csv into
results/latest of the checkout and run scripts/bench.sh report.
TXT
    echo "prepared $dir ($(du -sh "$dir" | cut -f1)); on the GPU host: java -cp '$dir/lib/*' io.weightpub.bench.GpuBench OUT"
    exit 0
    ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac

out="" quick=false
args=()
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --quick) quick=true; args+=("$1"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$out" ]; then
  if $quick; then out="$root/results/tmp/quick"; else out="$root/results/latest"; fi
fi
mkdir -p "$out"

cp=$(build)
java_run() {
  WEIGHTPUB_COMMIT="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)" WEIGHTPUB_BENCH_NOTE="${BENCH_NOTE:-}" \
    java -Xmx2g -XX:+UseG1GC -Djava.awt.headless=true -cp "$cp" io.weightpub.bench.BenchMain "$@"
}

if [ "$cmd" = report ]; then
  java_run report --out "$out"
  exit 0
fi

# one work folder per invocation: concurrent runs never stop each other's broker
work="$root/bench/target/bench-broker-$$"
"$root/scripts/cluster/stop-all.sh" --work "$work" --only kafka --purge >/dev/null 2>&1 || true
MAVEN_ARGS="$MVN_ARGS" "$root/scripts/cluster/fetch.sh" >/dev/null
bootstrap=$("$root/scripts/cluster/start-kafka.sh" --work "$work" --heap "${BENCH_BROKER_HEAP:-1g}" | tail -1)
trap '"$root/scripts/cluster/stop-all.sh" --work "$work" --only kafka --purge >/dev/null 2>&1 || true' EXIT
broker_desc="standalone KRaft broker process (scripts/cluster/start-kafka.sh, heap ${BENCH_BROKER_HEAP:-1g}) on 127.0.0.1"

run() {
  java_run "$1" --out "$out" --bootstrap "$bootstrap" --broker-desc "$broker_desc" "${args[@]+"${args[@]}"}"
}

if [ "$cmd" = all ]; then
  # A fresh report; results that came from a GPU host are kept.
  find "$out" -maxdepth 1 -type f \( -name '*.csv' -o -name '*.png' -o -name 'report.md' \) \
      ! -name 'gpu*.csv' ! -name 'e2e-cuda.csv' ! -name 'env-gpu*.csv' ! -name 'env-e2e-cuda.csv' -delete
  for bench in e2e stages memory publisher rollback; do
    run "$bench"
  done
  java_run report --out "$out"
else
  run "$cmd"
  java_run report --out "$out"
fi
