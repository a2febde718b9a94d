#!/usr/bin/env bash
# Runs the store's CUDA tests and staging benchmark on a GPU host that has Java 17 but no Maven.
#
#   scripts/gpu-tests.sh prepare [DIR]          on a machine with Maven and this checkout: builds the store
#                                               (and the bench's staging benchmark) and copies the classes,
#                                               test classes and jars the CUDA tests need into DIR (default
#                                               .devcarry/store-gpu, git-ignored)
#   scripts/gpu-tests.sh test [DIR]             on the GPU host: checks a device is visible, then runs the
#                                               CUDA tests with the JUnit console launcher; reports in DIR/reports
#   scripts/gpu-tests.sh bench [DIR] [OUT] [versionMiB rounds flips readers]
#                                               on the GPU host: staging throughput vs raw pinned bandwidth and
#                                               flip latency; CSV + Markdown into OUT (default DIR/bench)
#   scripts/gpu-tests.sh verify-bench [DIR] [OUT] [sizesGiB=2,8,32] [rounds=3]
#                                               on the GPU host: device tree digest GB/s vs copy back + CPU
#                                               SHA-256 vs device-to-device copy, and CPU tree digest with 1
#                                               and 2 threads; summary.csv rows in OUT/verify.csv (default
#                                               DIR/verify-bench) and OUT/verify.md
set -euo pipefail

# The console launcher must match the JUnit Jupiter version the tests are compiled against (root pom: 5.14.1).
JUNIT_PLATFORM_VERSION=1.14.1
CUDA_TESTS=(io.weightpub.store.cuda.CudaWeightStoreTest io.weightpub.store.cuda.CudaTreeDigestVerificationTest)

cmd=${1:-}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-$root/.devcarry/store-gpu}

classpath() {
  local cp="$dir/classes:$dir/test-classes"
  for jar in "$dir"/lib/*.jar; do
    cp="$cp:$jar"
  done
  echo "$cp"
}

case "$cmd" in
  prepare)
    cd "$root"
    all="$dir/all-deps"
    rm -rf "$dir"
    mkdir -p "$dir/lib" "$dir/classes" "$dir/test-classes"
    # One reactor invocation (no install): the store with its tests, the modules it needs from this checkout
    # as jars, and every dependency of them copied into $all; the bench's classes for the staging benchmark.
    mvn -B -o -q package -DskipTests -pl store -am dependency:copy-dependencies -DincludeScope=test \
        -DoutputDirectory="$all"
    mvn -B -o -q compile -pl bench -am
    cp -r store/target/classes/. "$dir/classes/"
    cp -r bench/target/classes/. "$dir/classes/"
    cp -r store/target/test-classes/. "$dir/test-classes/"
    # Only what the store and its tests load: no Flink, no Kafka (the CUDA tests never touch them), no
    # JUnit jars (the console standalone jar carries the platform and the Jupiter engine), and no log4j
    # (its core needs java.desktop, which a small jlink'ed runtime for GPU hosts leaves out).
    for pattern in 'weightpub-schemas-*.jar' 'weightpub-events-*.jar' 'weightpub-testutils-*.jar' 'avro-*.jar' \
        'jackson-core-*.jar' 'jackson-databind-*.jar' 'jackson-annotations-*.jar' 'jcuda-*.jar' 'slf4j-api-*.jar' \
        'assertj-core-*.jar' 'byte-buddy-[0-9]*.jar' 'commons-compress-*.jar'; do
      find "$all" -maxdepth 1 -name "$pattern" ! -name '*-tests.jar' -exec cp {} "$dir/lib/" \;
    done
    rm -rf "$all"
    mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM_VERSION" \
        -DoutputDirectory="$dir/lib"
    compgen -G "$dir/lib/jcuda-natives-*-linux-x86_64.jar" >/dev/null \
        || { echo "the JCuda linux-x86_64 natives jar is missing from $dir/lib" >&2; exit 1; }
    echo "prepared $dir ($(du -sh "$dir" | cut -f1)); carry it to the GPU host and run: scripts/gpu-tests.sh test $dir"
    ;;
  test)
    [ -d "$dir/lib" ] || { echo "$dir has no lib/: run 'scripts/gpu-tests.sh prepare' first" >&2; exit 1; }
    cp=$(classpath)
    # A host without a visible device would only skip the tests; refuse rather than report them as passed.
    java -cp "$cp" io.weightpub.store.cuda.CudaProbe
    selects=()
    for test in "${CUDA_TESTS[@]}"; do
      selects+=(--select-class "$test")
    done
    java -Xmx4g -cp "$cp" org.junit.platform.console.ConsoleLauncher execute \
        --class-path "$cp" "${selects[@]}" --fail-if-no-tests --details=tree --reports-dir "$dir/reports"
    ;;
  bench)
    [ -d "$dir/lib" ] || { echo "$dir has no lib/: run 'scripts/gpu-tests.sh prepare' first" >&2; exit 1; }
    out=${3:-$dir/bench}
    shift $(( $# < 3 ? $# : 3 ))
    java -Xmx8g -cp "$(classpath)" io.weightpub.bench.CudaStagingBenchmark "$out" "$@"
    ;;
  verify-bench)
    [ -d "$dir/lib" ] || { echo "$dir has no lib/: run 'scripts/gpu-tests.sh prepare' first" >&2; exit 1; }
    out=${3:-$dir/verify-bench}
    shift $(( $# < 3 ? $# : 3 ))
    # 32 GiB twice on the device (the d2d copy's target); the host holds only pinned 4 MiB pieces and 256 MiB.
    java -Xmx4g -cp "$(classpath)" io.weightpub.store.cuda.VerifyBenchmark "$out" "$@"
    ;;
  *)
    sed -n '2,19p' "$0" >&2
    exit 2
    ;;
esac
