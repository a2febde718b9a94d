#!/usr/bin/env bash
# Turns a Kafka client properties file (secure/clients/USER.properties) into the job's kafka.*
# options, one argument per line: "--kafka.KEY" then "VALUE" for every setting but
# bootstrap.servers (the job's --bootstrap.servers). Comments and blank lines are skipped.
#
# Usage: kafka-options.sh FILE
#   mapfile -t KAFKA < <(scripts/cluster/secure/kafka-options.sh "$W/secure/clients/job.properties")
#   scripts/cluster/submit.sh ... --bootstrap.servers "$BOOT" "${KAFKA[@]}"
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

(($# == 1)) || die "usage: $0 FILE"
[[ -r "$1" ]] || die "cannot read $1"
while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "${line//[[:space:]]/}" || "$line" =~ ^[[:space:]]*[#!] ]] && continue
    key="${line%%=*}"
    [[ "$key" == "$line" ]] && die "$1: '$line' is not key=value"
    [[ "$key" == bootstrap.servers ]] && continue
    printf -- '--kafka.%s\n%s\n' "$key" "${line#*=}"
done <"$1"
