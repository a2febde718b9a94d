#!/usr/bin/env bash
# Submits the weightpub job of the secured compose deployment (docker-compose.secured.yml) with
# the job principal's Kafka client settings and the trusted keys. Every line of the job's client
# properties but bootstrap.servers becomes a kafka.* option, which reaches every Kafka client of
# the job (source, status and index producers, the workers' replay consumers).
#
# Usage: submit-secured.sh JOB.properties JAR [more job options...]
#   WEIGHTPUB_SCRIPTS (default /opt/weightpub/scripts/cluster): scripts/cluster, for kafka-options.sh
#   WEIGHTPUB_TRUSTED (default /etc/weightpub/trusted): publishers/ and operators/ folders of
#   public keys; the workers check manifests against publishers/ too.
set -euo pipefail

die() { echo "error: $*" >&2; exit 1; }
(($# >= 2)) || die "usage: $0 JOB.properties JAR [job options...]"
PROPERTIES="$1" JAR="$2"
shift 2
TRUSTED="${WEIGHTPUB_TRUSTED:-/etc/weightpub/trusted}"
[[ -r "$PROPERTIES" ]] || die "cannot read $PROPERTIES: run scripts/cluster/secure/compose-secrets.sh"
for role in publishers operators; do
    compgen -G "$TRUSTED/$role/*.pem" >/dev/null || die "no public keys in $TRUSTED/$role (see docs/security.md step 1)"
done

BOOTSTRAP="$(sed -n 's/^bootstrap\.servers=//p' "$PROPERTIES")"
[[ -n "$BOOTSTRAP" ]] || die "$PROPERTIES has no bootstrap.servers"
KAFKA_ARGS=()
mapfile -t KAFKA_ARGS < <(bash "${WEIGHTPUB_SCRIPTS:-/opt/weightpub/scripts/cluster}/secure/kafka-options.sh" "$PROPERTIES")
((${#KAFKA_ARGS[@]} > 0)) || die "no client settings in $PROPERTIES"

exec flink run -d -m "${FLINK_JOBMANAGER:-jobmanager:8081}" -c io.weightpub.job.WeightPublishingJob "$JAR" \
    --bootstrap.servers "$BOOTSTRAP" \
    "${KAFKA_ARGS[@]}" \
    --security.publisher-keys "$TRUSTED/publishers" \
    --security.operator-keys "$TRUSTED/operators" \
    --weightpub.sink.security.publisher-keys "$TRUSTED/publishers" \
    "$@"
