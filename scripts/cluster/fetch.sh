#!/usr/bin/env bash
# Resolves the jars of a standalone Kafka broker and a standalone Flink cluster from Maven
# Central into a cache folder, with Maven only (no Flink or Kafka distribution needed).
#
# Usage: fetch.sh [LIBS_DIR]      (default: <repo>/target/cluster-libs)
#   Environment: MAVEN_ARGS  extra Maven arguments, e.g. "-o" to resolve offline.
# Result: LIBS_DIR/kafka/*.jar, LIBS_DIR/flink/*.jar, LIBS_DIR/flink-plugins/<plugin>/*.jar
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LIBS="${1:-$DEFAULT_LIBS_DIR}"
LIBS="$(abs_path "$LIBS")"

# A fingerprint of the POMs (and the root pom, where the versions live): re-resolve only when
# one of them changed.
stamp="$(cat "$CLUSTER_SCRIPTS_DIR"/*.pom.xml "$REPO_ROOT/pom.xml" | cksum | cut -d' ' -f1)"
if [[ -f "$LIBS/.fetched" && "$(cat "$LIBS/.fetched")" == "$stamp" ]]; then
    echo "$LIBS"
    exit 0
fi

copy() {
    local pom="$1" dest="$2"
    shift 2
    rm -rf "$dest"
    # shellcheck disable=SC2086
    mvn -B -q -ntp -Dstyle.color=never ${MAVEN_ARGS:-} -f "$CLUSTER_SCRIPTS_DIR/$pom" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dest" "$@" >&2
}

info "resolving cluster jars into $LIBS"
copy kafka-libs.pom.xml "$LIBS/kafka"
copy flink-libs.pom.xml "$LIBS/flink"
copy flink-plugins.pom.xml "$LIBS/flink-plugins/metrics-prometheus" -DexcludeTransitive=true
echo "$stamp" >"$LIBS/.fetched"
echo "$LIBS"
