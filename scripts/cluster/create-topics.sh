#!/usr/bin/env bash
# Creates the topics of a weightpub deployment (<prefix>.chunks, .manifests, .control, .status,
# .versions, .dlq) with the settings of topics.properties; topics that exist are left as they are.
#
# Usage: create-topics.sh --bootstrap-server HOST:PORT [--prefix P] [--topics-file FILE]
#                         [--replication-factor N] [--command-config FILE]
#                         [--kafka-topics CMD] [--libs DIR] [--dry-run]
#   --prefix P              topic prefix (default weightpub)
#   --topics-file FILE      default: topics.properties next to this script
#   --replication-factor N  overrides the file's replication.factor
#   --command-config FILE   Kafka client properties for TLS/SASL (passed to kafka-topics)
#   --kafka-topics CMD      create with this kafka-topics command, one call per topic, e.g.
#                           /opt/kafka/bin/kafka-topics.sh (docker-compose). Default: every topic in
#                           one admin request from one JVM (CreateTopics.java, compiled once into
#                           the jar cache of fetch.sh): a JVM per topic took 16-35 s.
#   --dry-run               print one kafka-topics argument line per topic, create nothing
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

BOOTSTRAP="" PREFIX="weightpub" TOPICS_FILE="$CLUSTER_SCRIPTS_DIR/topics.properties"
REPLICATION="" COMMAND_CONFIG="" KAFKA_TOPICS="" LIBS="$DEFAULT_LIBS_DIR" DRY_RUN=false
while (($#)); do
    case "$1" in
        --bootstrap-server) BOOTSTRAP="$2"; shift 2 ;;
        --prefix) PREFIX="$2"; shift 2 ;;
        --topics-file) TOPICS_FILE="$2"; shift 2 ;;
        --replication-factor) REPLICATION="$2"; shift 2 ;;
        --command-config) COMMAND_CONFIG="$2"; shift 2 ;;
        --kafka-topics) KAFKA_TOPICS="$2"; shift 2 ;;
        --libs) LIBS="$2"; shift 2 ;;
        --dry-run) DRY_RUN=true; shift ;;
        *) die "unknown option $1 (see the usage at the top of $0)" ;;
    esac
done
[[ -n "$BOOTSTRAP" ]] || die "--bootstrap-server is required"
[[ -f "$TOPICS_FILE" ]] || die "no topics file $TOPICS_FILE"
[[ "$PREFIX" =~ ^[A-Za-z0-9._-]+$ ]] || die "topic prefix '$PREFIX' may use only letters, digits, '.', '_' and '-'"

declare -A SETTING=()
KEYS=()
while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%$'\r'}"
    [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
    [[ "$line" == *=* ]] || die "$TOPICS_FILE: not a key=value line: $line"
    key="$(sed 's/^[[:space:]]*//;s/[[:space:]]*$//' <<<"${line%%=*}")"
    value="$(sed 's/^[[:space:]]*//;s/[[:space:]]*$//' <<<"${line#*=}")"
    SETTING["$key"]="$value"
    KEYS+=("$key")
done <"$TOPICS_FILE"
[[ -n "${SETTING[roles]:-}" ]] || die "$TOPICS_FILE defines no roles"
[[ -n "$REPLICATION" ]] || REPLICATION="${SETTING[replication.factor]:-1}"

[[ -n "$KAFKA_TOPICS" ]] && read -r -a KAFKA_TOPICS_CMD <<<"$KAFKA_TOPICS"

IFS=',' read -r -a ROLES <<<"${SETTING[roles]}"
SPECS=""   # for CreateTopics.java: name<TAB>partitions<TAB>replication[<TAB>key=value]... per line
for role in "${ROLES[@]}"; do
    partitions="${SETTING[$role.partitions]:-}"
    [[ -n "$partitions" ]] || die "$TOPICS_FILE has no $role.partitions"
    args=(--bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$PREFIX.$role"
        --partitions "$partitions" --replication-factor "$REPLICATION")
    spec="$PREFIX.$role"$'\t'"$partitions"$'\t'"$REPLICATION"
    for key in "${KEYS[@]}"; do
        if [[ "$key" == "$role.config."* ]]; then
            args+=(--config "${key#"$role.config."}=${SETTING[$key]}")
            spec+=$'\t'"${key#"$role.config."}=${SETTING[$key]}"
        fi
    done
    SPECS+="$spec"$'\n'
    [[ -n "$COMMAND_CONFIG" ]] && args+=(--command-config "$COMMAND_CONFIG")
    if $DRY_RUN; then
        echo "${args[*]}"
    elif [[ -n "$KAFKA_TOPICS" ]]; then
        "${KAFKA_TOPICS_CMD[@]}" "${args[@]}" >&2 || die "creating $PREFIX.$role failed"
        info "topic $PREFIX.$role ready"
    fi
done

if ! $DRY_RUN && [[ -z "$KAFKA_TOPICS" ]]; then
    require_libs "$LIBS" kafka
    # Compiled once into the jar cache (again when the source is newer): compiling on every run
    # would take seconds of the few this saves.
    CLASSES="$LIBS/create-topics"
    SOURCE="$CLUSTER_SCRIPTS_DIR/CreateTopics.java"
    if [[ ! -f "$CLASSES/CreateTopics.class" || "$SOURCE" -nt "$CLASSES/CreateTopics.class" ]]; then
        JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
        command -v "$JAVAC" >/dev/null || die "no javac (a JDK is needed), or give --kafka-topics CMD"
        staging="$(mktemp -d "$LIBS/.create-topics.XXXXXX")"
        "$JAVAC" -nowarn -cp "$LIBS/kafka/*" -d "$staging" "$SOURCE" || die "compiling $SOURCE failed"
        rm -rf "$CLASSES" && mv "$staging" "$CLASSES"
    fi
    "$JAVA" -Xmx256m -cp "$LIBS/kafka/*:$CLASSES" CreateTopics "$BOOTSTRAP" "$COMMAND_CONFIG" \
        <<<"$SPECS" >&2 || die "creating the topics of prefix $PREFIX failed"
    info "topics $PREFIX.{${SETTING[roles]}} ready"
fi
