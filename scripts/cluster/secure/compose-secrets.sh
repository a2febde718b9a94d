#!/usr/bin/env bash
# Makes the secrets folder of docker-compose.secured.yml: the TLS material of make-certs.sh for
# the broker container (host name 'kafka'), a SCRAM password per user, and each user's Kafka
# client settings twice: for containers (kafka:9092) and for this host (127.0.0.1:HOST_PORT).
#
# Usage: compose-secrets.sh [--out DIR] [--host-port N] [--host NAME]... [--users "trainer operator job worker"]
#   --out DIR        default ./secure (what docker-compose.secured.yml mounts; WEIGHTPUB_SECURE_DIR)
#   --host-port N    the broker's port on this host (default 29092, as docker-compose.yml publishes)
#   --host NAME      another DNS name of the broker for its certificate (repeatable)
#   --users LIST     SCRAM users besides 'broker' and 'admin' (both super users)
# Result (DIR):
#   certs/                       make-certs.sh's stores (CN=broker, SAN kafka, localhost, 127.0.0.1)
#   users/USER.password          SCRAM passwords (mode 0600); the broker adds them when it formats
#   clients/USER.properties      settings for clients on this host (trainer, weightpub CLI)
#   clients/docker/USER.properties  the same for containers (topics, acls, submit-job)
#   trusted/publishers/, trusted/operators/  empty: put the public keys the job trusts there
# An existing DIR is refused: new certificates or passwords would not match a formatted broker.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/secrets.sh"

OUT="./secure" HOST_PORT=29092 HOSTS=() USERS="trainer operator job worker"
while (($#)); do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        --host-port) HOST_PORT="$2"; shift 2 ;;
        --host) HOSTS+=(--host "$2"); shift 2 ;;
        --users) USERS="$2"; shift 2 ;;
        *) die "unknown option $1 (see the usage at the top of $0)" ;;
    esac
done
[[ "$HOST_PORT" =~ ^[0-9]+$ ]] || die "--host-port must be a port number, got '$HOST_PORT'"
[[ "$USERS" =~ ^[A-Za-z0-9._\ -]*$ ]] || die "user names may use only letters, digits, '.', '_' and '-'"
[[ ! -e "$OUT" ]] || die "$OUT exists; refusing to replace the secrets of a deployment (remove it to start over)"

mkdir -p "$OUT"
OUT="$(abs_path "$OUT")"
mkdir -p "$OUT/users" "$OUT/clients/docker" "$OUT/trusted/publishers" "$OUT/trusted/operators"
chmod 700 "$OUT/users" "$OUT/clients"
bash "$CLUSTER_SCRIPTS_DIR/secure/make-certs.sh" --out "$OUT/certs" --host kafka "${HOSTS[@]+"${HOSTS[@]}"}" >/dev/null
STORE_PW="$(cat "$OUT/certs/store.password")"
# Where docker-compose.secured.yml mounts the certificates in every container.
CONTAINER_TRUSTSTORE=/etc/weightpub/secure/certs/truststore.p12

for user in broker admin $USERS; do
    pw="$(password_of "$OUT/users" "$user")"
    write_client_properties "$OUT/clients/$user.properties" "$user" "$pw" "127.0.0.1:$HOST_PORT" \
        "$OUT/certs/truststore.p12" "$STORE_PW"
    write_client_properties "$OUT/clients/docker/$user.properties" "$user" "$pw" "kafka:9092" \
        "$CONTAINER_TRUSTSTORE" "$STORE_PW"
done
info "secrets of docker-compose.secured.yml in $OUT (users: broker admin $USERS)"
echo "$OUT"
