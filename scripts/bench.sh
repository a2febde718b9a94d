#!/usr/bin/env bash
# Benchmarks: each measures a ceiling and the project side by side in the same run and writes
# Markdown + CSV + PNG under a results folder (docs/benchmarks.md explains them).
#
#   scripts/bench.sh e2e       [--quick] [options]   the job's parallelism curve vs 1 and N ConsumerPerformance
#                                                    processes; last record to active at 1, 2, 4 workers
#   scripts/bench.sh stages    [--quick] [options]   per-byte cost of each stage (JMH hot loops + raw fetch)
#   scripts/bench.sh memory    [--quick] [options]   job heap and checkpointed state vs model size
#   scripts/bench.sh publisher [--quick] [options]   WeightPublisher vs Kafka ProducerPerformance
#   scripts/bench.sh publish-parallel [--sizes 512m] [--producers 1,2,4,8]   N producers vs N ProducerPerformance processes
#   scripts/bench.sh rollback  [--quick] [options]   resident rollback latency; replay vs a raw consumer
#   scripts/bench.sh all       [--quick] [options]   all five, then the report
#   scripts/bench.sh report    [--out DIR]           report.md, summary.csv and plots from the CSVs in DIR
#   scripts/bench.sh gpu-prepare DIR                 DIR/weightpub-gpu.tar.xz (< 60 MiB): a jlink'ed runtime and
#                                                    the jars GpuBench loads, tested by two trial runs (heavy:
#                                                    run it under flock /tmp/weightpub-heavy.lock); see its README
#
# Options: --out DIR (default results/latest; results/tmp/quick with --quick), --runs N, --sizes 1g,4g,16g,
#   --workers 1,3 (memory), e2e: --parallelism 1,2,4,8,16 --consumers N --latency-workers 1,2,4 --latency-sizes 1g
#   --budget-s S; --mem-budget SIZE (default: the machine's available memory), --fetch-size SIZE,
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
  # -am, in one invocation: the project's own modules come from this checkout's reactor, never from
  # the snapshots in ~/.m2 (which other checkouts overwrite); bench is built last, so its classpath
  # is the one left in the file.
  # shellcheck disable=SC2086
  mvn -B -q $MVN_ARGS -pl bench -am package dependency:build-classpath -DskipTests \
      -Dmdep.outputFile="$root/bench/target/classpath.txt" -Dmdep.includeScope=runtime >&2
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

# A tiny run of GpuBench with host stores (no GPU needed) under JAVA with the jars of LIB, logging
# every class every JVM loads (children start with the same java and inherit JDK_JAVA_OPTIONS).
bundle_trial() {
  local java=$1 lib=$2 logs=$3 out=$4
  rm -rf "$logs" "$out"
  mkdir -p "$logs"
  JDK_JAVA_OPTIONS="-Xlog:class+load=info:file=$logs/classes-%p.log" \
    "$java" -Xmx2g -cp "$lib/*" io.weightpub.bench.GpuBench "$out" --host-stores --sizes 128m --parallelism 1,4 \
      --runs 1 --latency-workers 1,2 --latency-sizes 64m --consumers 2 --skip-staging >"$logs.out" 2>&1 \
    || { tail -50 "$logs.out" >&2; echo "the trial run under $java failed (output in $logs.out)" >&2; return 1; }
}

# The GPU bundle: one archive with a jlink'ed runtime and only the jars a trial run loads.
gpu_prepare() {
  local dir=${1:?usage: scripts/bench.sh gpu-prepare DIR}
  local limit=$((60 * 1024 * 1024))
  local cp
  cp=$(build)
  local all="${cp%/\*}"
  dir=$(mkdir -p "$dir" && cd "$dir" && pwd)
  local stage="$dir/stage" work="$dir/work"
  rm -rf "$stage" "$work" "$dir/weightpub-gpu.tar.xz"
  mkdir -p "$stage/lib" "$work"
  compgen -G "$all/jcuda-natives-*-linux-x86_64.jar" >/dev/null \
      || { echo "the JCuda linux-x86_64 natives jar is missing from $all" >&2; exit 1; }
  local modules
  modules=$(java -cp "$all/*" io.weightpub.bench.GpuBundle modules)
  echo "jlink: $modules" >&2
  # --compress=0: the archive's gzip over the plain image is 27 MB, jimage's own zip (--compress=2) 34 MB
  jlink --add-modules "$modules" --include-locales=en --compress="${BUNDLE_JLINK_COMPRESS:-0}" --strip-debug \
      --no-man-pages --no-header-files --output "$stage/jre"
  # Debian's libjvm.so keeps its symbol table (4 MB; 1.2 MB in the archive)
  if command -v strip >/dev/null; then strip --strip-unneeded "$stage"/jre/lib/server/libjvm.so; fi
  # 1. every jar, the bundle's runtime: which jars does the benchmark load classes from?
  bundle_trial "$stage/jre/bin/java" "$all" "$work/classes-all" "$work/out-all"
  # 2. only the classes it loaded, with their nested classes (Kafka's jars: whole packages); resources
  #    kept; this project's and JCuda's jars whole
  "$stage/jre/bin/java" -cp "$all/*" io.weightpub.bench.GpuBundle prune "$work/classes-all" "$all" "$stage/lib" \
      >"$work/prune.txt"
  echo "kept $(ls "$stage/lib" | wc -l) of $(ls "$all"/*.jar | wc -l) jars" >&2
  cat >"$stage/README.txt" <<'TXT'
weightpub GPU benchmark bundle: a jlink'ed Java 17 runtime (jre/) and the classes the benchmark
loads (lib/, pruned by a trial run; docs/benchmarks.md). Needs no Maven, no network and no Java on
the host.

  mkdir -p /opt/w && tar xJf weightpub-gpu.tar.xz -C /opt/w
  /opt/w/jre/bin/java -Xmx8g -cp '/opt/w/lib/*' io.weightpub.bench.GpuBench OUT \
      --sizes 16g --parallelism 1,4,8,16 --runs 1 --latency-workers 1 --latency-sizes 1g \
      --skip-staging --budget-s 400

It runs (in OUT: raw CSVs, summary.csv, report.md, PNGs):
  1. without --skip-staging: the CUDA store's staging benchmark (about a minute);
  2. bench e2e-gpu: a standalone Kafka broker (kafka.Kafka in a child JVM of this runtime, 2 GiB heap,
     data on local disk under the temp folder or --broker-dir, deleted at the end); per size one
     version published once; per run one ConsumerPerformance, N in one group (N = cores, capped by
     partitions; --consumers N), and at each parallelism the job cut after each stage (--stages
     source,checker,network,job-host: the source alone, source + chunk checkers, their payload over
     Flink's network to one subtask, the whole job with host stores) and the job with one CUDA worker;
  3. the time from the trainer's last record to active on every worker at 1, 2 and 4 workers (all
     sharing the one GPU), the job already running.
--budget-s S skips the points that would start after S seconds and lists them in report.md (a point
already started runs to its end: leave it a minute). Progress goes to stdout, one line per point.
--host-stores runs without a GPU (host stores). Copy OUT's summary.csv, report.md, *.png and *.csv
into results/gpu of the checkout.
TXT
  # 3. the trial must pass again with nothing but the bundle
  bundle_trial "$stage/jre/bin/java" "$stage/lib" "$work/classes-kept" "$work/out-kept"
  # xz, not gzip: 15% smaller, which keeps Log4j's whole jars well under the limit (the GPU host has xz)
  tar -cf - -C "$stage" jre lib README.txt | xz -7 -T2 >"$dir/weightpub-gpu.tar.xz"
  local size
  size=$(stat -c %s "$dir/weightpub-gpu.tar.xz")
  echo "bundle $dir/weightpub-gpu.tar.xz: $size bytes ($((size / 1024 / 1024)) MiB; runtime $(du -sh "$stage/jre" | cut -f1), jars $(du -sh "$stage/lib" | cut -f1) unpacked)"
  if ((size > limit)); then
    echo "the bundle is over 60 MiB" >&2
    exit 1
  fi
  echo "on the GPU host: tar xJf weightpub-gpu.tar.xz -C /opt/w && /opt/w/jre/bin/java -cp '/opt/w/lib/*' io.weightpub.bench.GpuBench OUT ..."
}

case "$cmd" in
  e2e|stages|memory|publisher|publish-parallel|rollback|all|report) ;;
  gpu-prepare)
    gpu_prepare "$@"
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
  local extra=()
  # the job runs read the broker's CPU time from /proc
  [ "$1" = e2e ] && extra=(--broker-pid "$(cat "$work/kafka/kafka.pid")")
  java_run "$1" --out "$out" --bootstrap "$bootstrap" --broker-desc "$broker_desc" "${extra[@]+"${extra[@]}"}" \
      "${args[@]+"${args[@]}"}"
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
