#!/usr/bin/env bash
# The Python publisher benchmark (docs/benchmarks.md): a standalone KRaft broker on 127.0.0.1 started
# and stopped here, kafka-tools from the bench module's class path, then publisher_python.py.
#   python/bench/run.sh [--size-mib N (1024)] [--runs N (3)] [--out DIR (results/latest)]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cp_file="$root/bench/target/python-bench-classpath.txt"
mvn -B -q ${BENCH_MAVEN_ARGS--o} -pl bench dependency:build-classpath -Dmdep.outputFile="$cp_file" \
    -Dmdep.includeScope=runtime >&2
work="$root/bench/target/python-bench-broker-$$"
MAVEN_ARGS="${BENCH_MAVEN_ARGS--o}" scripts/cluster/fetch.sh >/dev/null
bootstrap=$(scripts/cluster/start-kafka.sh --work "$work" --heap "${BENCH_BROKER_HEAP:-1g}" | tail -1)
trap 'scripts/cluster/stop-all.sh --work "$work" --only kafka --purge >/dev/null 2>&1 || true' EXIT
/usr/bin/python3 python/bench/publisher_python.py --bootstrap "$bootstrap" --classpath "$(cat "$cp_file")" "$@"
