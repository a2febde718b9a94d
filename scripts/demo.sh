#!/usr/bin/env bash
# README command 1: builds the project (once) and runs the demo on embedded defaults: an
# in-process Kafka broker, a Flink MiniCluster, the GPU if one is present, host memory otherwise.
# Arguments go to the demo: --versions N --size MiB --workers N --backend AUTO|HOST|CUDA
set -euo pipefail
cd "$(dirname "$0")/.."

classpath=demo/target/demo.classpath
if [[ ! -f "$classpath" || -n "$(find . -path ./e2e -prune -o -name '*.java' -newer "$classpath" -print -quit)" ]]; then
  echo "building weightpub (first run takes a few minutes)..." >&2
  mvn -B -q -ntp install -DskipTests -Dmaven.test.skip=true -pl demo -am >&2
fi

# Host-memory workers keep versions off-heap (outside -Xmx).
exec java -Xmx3g -XX:+UseParallelGC \
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED \
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  -Dweightpub.demo.log=demo/target/demo.log \
  -cp "demo/target/classes:$(cat "$classpath")" io.weightpub.demo.WeightpubDemo "$@"
