#!/usr/bin/env bash
# Entry point of the secured compose broker (docker-compose.secured.yml). Settings come from the
# KAFKA_* environment as in the apache/kafka image (KAFKA_FOO_BAR -> foo.bar, '__' -> '_',
# '___' -> '-'); the secrets come from files, never from the compose file: the stores' password
# (certs/store.password) and the broker's own SCRAM login (users/broker.password). When the data
# folder is not formatted yet, every users/USER.password becomes a SCRAM-SHA-512 user
# (kafka-storage format --add-scram): KRaft brokers cannot log in before their users exist.
#
# Usage: secured-entrypoint.sh [--print]    --print: write nothing, print the server.properties
#                                           (secrets masked) and the format command, then exit
set -euo pipefail

SECURE="${WEIGHTPUB_SECURE:-/etc/weightpub/secure}"
KAFKA_HOME="${KAFKA_HOME:-/opt/kafka}"
CONFIG="${WEIGHTPUB_BROKER_CONFIG:-/tmp/weightpub-broker/server.properties}"
PRINT=false
[[ "${1:-}" == "--print" ]] && PRINT=true

die() { echo "error: $*" >&2; exit 1; }
for f in certs/store.password certs/broker.keystore.p12 certs/truststore.p12 users/broker.password; do
    [[ -r "$SECURE/$f" ]] || die "$SECURE/$f is missing or unreadable: run scripts/cluster/secure/compose-secrets.sh"
done
STORE_PW="$(cat "$SECURE/certs/store.password")"
BROKER_PW="$(cat "$SECURE/users/broker.password")"
[[ -n "${KAFKA_LOG_DIRS:-}" ]] || die "KAFKA_LOG_DIRS is not set"
[[ -n "${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:-}" ]] || die "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP is not set"

# Environment variables of the image and the JVM, not broker settings.
NOT_SETTINGS=" KAFKA_HOME KAFKA_OPTS KAFKA_HEAP_OPTS KAFKA_JVM_PERFORMANCE_OPTS KAFKA_LOG4J_OPTS KAFKA_JMX_OPTS KAFKA_GC_LOG_OPTS KAFKA_DEBUG KAFKA_VERSION KAFKA_URL "
settings() {
    local name key
    while IFS= read -r name; do
        [[ "$NOT_SETTINGS" == *" $name "* ]] && continue
        key="${name#KAFKA_}"
        key="${key//___/-}"
        key="${key//__/@}"
        key="${key//_/.}"
        key="${key//@/_}"
        echo "${key,,}=${!name}"
    done < <(compgen -e | grep '^KAFKA_' | sort)
    echo "ssl.keystore.location=$SECURE/certs/broker.keystore.p12"
    echo "ssl.keystore.type=PKCS12"
    echo "ssl.keystore.password=$STORE_PW"
    echo "ssl.key.password=$STORE_PW"
    echo "ssl.truststore.location=$SECURE/certs/truststore.p12"
    echo "ssl.truststore.type=PKCS12"
    echo "ssl.truststore.password=$STORE_PW"
    # Every SASL_SSL listener logs the broker in as SCRAM user 'broker' (the inter-broker login).
    local entry listener
    for entry in ${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP//,/ }; do
        listener="${entry%%:*}"
        if [[ "${entry#*:}" == SASL_SSL ]]; then
            echo "listener.name.${listener,,}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"$BROKER_PW\";"
        fi
    done
}

SCRAM_ARGS=()
for file in "$SECURE"/users/*.password; do
    user="$(basename "$file" .password)"
    SCRAM_ARGS+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(cat "$file")]")
done
CLUSTER_ID="${CLUSTER_ID:-$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')}"
FORMAT=("$KAFKA_HOME/bin/kafka-storage.sh" format --cluster-id "$CLUSTER_ID" --config "$CONFIG" "${SCRAM_ARGS[@]}")

if $PRINT; then
    settings | sed -E 's/(password=")[^"]*"/\1***"/;t;s/(password=).*/\1***/'
    printf '%s\n' "${FORMAT[*]}" | sed -E 's/password=[^]]*\]/password=***]/g'
    exit 0
fi

mkdir -p "$(dirname "$CONFIG")"
(umask 077 && settings >"$CONFIG")
if [[ ! -f "$KAFKA_LOG_DIRS/meta.properties" ]]; then
    # The format tool prints the users' SCRAM keys: keep them out of the container's log.
    if ! output="$("${FORMAT[@]}" 2>&1)"; then
        echo "$output" | grep -v UserScramCredentialRecord >&2
        die "formatting $KAFKA_LOG_DIRS failed"
    fi
    echo "formatted $KAFKA_LOG_DIRS with SCRAM-SHA-512 users: $(cd "$SECURE/users" && ls | sed 's/\.password$//' | tr '\n' ' ')"
fi
exec "$KAFKA_HOME/bin/kafka-server-start.sh" "$CONFIG"
