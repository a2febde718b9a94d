#!/usr/bin/env bash
# Stops every process started from a work folder (Flink TaskManagers, JobManager, Kafka broker,
# in that order) by the pid files the start scripts wrote, and removes pid and port files.
#
# Usage: stop-all.sh --work DIR [--only kafka|flink] [--purge]
#   --only kafka|flink   stop only the broker, or only the Flink cluster
#   --purge              also delete the work folder (data, logs, generated configs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WORK="" PURGE=false ONLY=""
while (($#)); do
    case "$1" in
        --work) WORK="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        --purge) PURGE=true; shift ;;
        *) die "unknown option $1 (see the usage at the top of $0)" ;;
    esac
done
[[ -n "$WORK" ]] || die "--work DIR is required"
[[ -z "$ONLY" || "$ONLY" == kafka || "$ONLY" == flink ]] || die "--only takes kafka or flink"
[[ -d "$WORK" ]] || exit 0
WORK="$(cd "$WORK" && pwd)"

if [[ "$ONLY" != kafka ]]; then
    # TaskManagers first, so that the JobManager does not reschedule tasks meanwhile.
    for pid_file in "$WORK"/flink/taskmanager-*.pid; do
        [[ -e "$pid_file" ]] && stop_pid_file "$pid_file" "$WORK" 20
    done
    stop_pid_file "$WORK/flink/jobmanager.pid" "$WORK" 20
    rm -f "$WORK"/flink/*.port
fi
if [[ "$ONLY" != flink ]]; then
    # The broker last, so that the job's Kafka clients close cleanly.
    stop_pid_file "$WORK/kafka/kafka.pid" "$WORK" 30
    rm -f "$WORK"/kafka/*.port
fi

if $PURGE && [[ -z "$ONLY" ]]; then
    rm -rf "$WORK"
fi
info "stopped ${ONLY:-everything} of $WORK"
