#!/usr/bin/env bash
# Submits a job jar to the cluster of a work folder through Flink's own CLI (CliFrontend run,
# detached), as `flink run -d` of a Flink distribution would.
#
# Usage: submit.sh --work DIR [--libs DIR] [--class MAIN] [--parallelism N]
#                  [--savepoint PATH] [-D key=value]... JAR [program args...]
#   --class MAIN       entry class (default: the jar manifest's Main-Class)
#   --parallelism N    default parallelism of the job
#   --savepoint PATH   start from a savepoint or retained checkpoint
#   -D key=value       a job setting (e.g. execution.checkpointing.interval=10s)
# Program arguments after JAR go to the job's main(), e.g. --bootstrap.servers 127.0.0.1:9092.
# Prints the job id. The CLI's output is in WORK/flink/log/client-<time>.out.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WORK="" LIBS="$DEFAULT_LIBS_DIR"
CLI_ARGS=()
while (($#)); do
    case "$1" in
        --work) WORK="$2"; shift 2 ;;
        --libs) LIBS="$2"; shift 2 ;;
        --class) CLI_ARGS+=(--class "$2"); shift 2 ;;
        --parallelism) CLI_ARGS+=(--parallelism "$2"); shift 2 ;;
        --savepoint) CLI_ARGS+=(--fromSavepoint "$2"); shift 2 ;;
        -D) CLI_ARGS+=("-D$2"); shift 2 ;;
        -D*) CLI_ARGS+=("$1"); shift ;;
        -*) die "unknown option $1 (see the usage at the top of $0)" ;;
        *) break ;;
    esac
done
[[ -n "$WORK" ]] || die "--work DIR is required"
(($#)) || die "the job JAR is missing"
JAR="$1"
shift
[[ -f "$JAR" ]] || die "no such jar: $JAR"
WORK="$(cd "$WORK" && pwd)"
LIBS="$(abs_path "$LIBS")"
DIR="$WORK/flink"
[[ -f "$DIR/rest.port" ]] || die "no running cluster in $WORK: run start-flink.sh --work $WORK first"
REST_PORT="$(cat "$DIR/rest.port")"

stamp="$(date +%Y%m%d-%H%M%S)-$$"
OUT="$DIR/log/client-$stamp.out"
export FLINK_CONF_DIR="$DIR/conf"
if ! "$JAVA" "-Dweightpub.work=$WORK" -Xmx256m "${FLINK_JVM_OPENS[@]}" \
    "-Dlog.file=$DIR/log/client-$stamp.log" "-Dlog4j.configurationFile=file:$DIR/conf/log4j.properties" \
    -cp "$LIBS/flink/*" org.apache.flink.client.cli.CliFrontend \
    run --detached --jobmanager "127.0.0.1:$REST_PORT" "${CLI_ARGS[@]+"${CLI_ARGS[@]}"}" \
    "$JAR" "$@" >"$OUT" 2>&1; then
    cat "$OUT" >&2
    die "submitting $JAR failed (CLI output above, log in $DIR/log/client-$stamp.log)"
fi
# The CLI reports "Job has been submitted with JobID <32 hex digits>".
JOB_ID="$(grep -oE 'JobID [0-9a-f]{32}' "$OUT" | head -n 1 | cut -d' ' -f2)"
[[ -n "$JOB_ID" ]] || { cat "$OUT" >&2; die "the CLI printed no job id"; }
info "submitted $(basename "$JAR") as job $JOB_ID"
echo "$JOB_ID"
