#!/usr/bin/env bash
# Starts one more TaskManager for the cluster of a work folder (started by start-flink.sh), and
# waits until the JobManager lists it. TaskManagers are numbered 1, 2, ... in start order; the
# n-th gets resource id tm-n, pid file WORK/flink/taskmanager-n.pid, log taskmanager-n.log.
#
# Usage: start-taskmanager.sh --work DIR [--libs DIR] [-D key=value]...
#   -D key=value   a setting for this TaskManager only (e.g. taskmanager.numberOfTaskSlots=4)
# Prints the resource id (tm-n).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WORK="" LIBS="$DEFAULT_LIBS_DIR"
DYNAMIC=()
while (($#)); do
    case "$1" in
        --work) WORK="$2"; shift 2 ;;
        --libs) LIBS="$2"; shift 2 ;;
        -D) DYNAMIC+=(-D "$2"); shift 2 ;;
        -D*) DYNAMIC+=(-D "${1#-D}"); shift ;;
        *) die "unknown option $1 (see the usage at the top of $0)" ;;
    esac
done
[[ -n "$WORK" ]] || die "--work DIR is required"
WORK="$(cd "$WORK" && pwd)"
LIBS="$(abs_path "$LIBS")"
DIR="$WORK/flink"
CONF="$DIR/conf"
[[ -f "$DIR/rest.port" ]] || die "no running cluster in $WORK: run start-flink.sh --work $WORK first"
REST_PORT="$(cat "$DIR/rest.port")"

# The next number: one more than the highest ever used in this work folder (logs of killed
# TaskManagers stay, so a number is never reused).
N=1
for f in "$DIR"/log/taskmanager-*.log; do
    [[ -e "$f" ]] || continue
    n="${f##*/taskmanager-}"
    n="${n%.log}"
    ((n >= N)) && N=$((n + 1))
done
ID="tm-$N"
PID_FILE="$DIR/taskmanager-$N.pid"
LOG="$DIR/log/taskmanager-$N.log"
touch "$LOG"

flink_memory_args GET_TM_RESOURCE_PARAMS "$CONF" "$LIBS" "${DYNAMIC[@]+"${DYNAMIC[@]}"}"
export FLINK_CONF_DIR="$CONF" FLINK_PLUGINS_DIR="$LIBS/flink-plugins"
start_jvm "$PID_FILE" "$DIR/log/taskmanager-$N.out" \
    "-Dweightpub.work=$WORK" "${FLINK_MEMORY_JVM_ARGS[@]}" -XX:+UseG1GC "${FLINK_JVM_OPENS[@]}" \
    "-Dlog.file=$LOG" "-Dlog4j.configurationFile=file:$CONF/log4j.properties" \
    -cp "$LIBS/flink/*" org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
    --configDir "$CONF" -D "taskmanager.resource-id=$ID" \
    "${DYNAMIC[@]+"${DYNAMIC[@]}"}" "${FLINK_MEMORY_DYNAMIC_ARGS[@]}"

registered() {
    local taskmanagers
    taskmanagers=$(http_get "$REST_PORT" /taskmanagers 2>/dev/null) && [[ $taskmanagers == *"\"id\":\"$ID\""* ]]
}
PID_FILE_TO_WATCH="$PID_FILE" wait_until "$LOG" 120 registered
info "TaskManager $ID registered (pid $(cat "$PID_FILE"), log $LOG)"
echo "$ID"
