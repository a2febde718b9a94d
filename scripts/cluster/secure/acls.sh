#!/usr/bin/env bash
# Grants each principal of a weightpub deployment exactly what it needs (with Kafka's AclCommand):
#   trainer   writes <prefix>.chunks and <prefix>.manifests (and its transactional ids)
#   operator  writes <prefix>.control; reads <prefix>.versions and <prefix>.status (weightpub CLI);
#             describes <prefix>.chunks (the CLI checks a rollback target is still retained)
#   job       reads chunks, manifests, control (with its consumer group); writes status, versions, dlq
#   worker    reads chunks (replay of versions no longer resident); writes status
# Everything else is denied by the StandardAuthorizer (allow.everyone.if.no.acl.found=false).
#
# Usage: acls.sh --bootstrap-server HOST:PORT --command-config ADMIN.properties [--prefix P]
#                [--trainer USER] [--operator USER] [--job USER] [--worker USER]
#                [--job-group GROUP] [--transactional-id-prefix P] [--kafka-acls CMD] [--libs DIR] [--dry-run]
#   --command-config  client settings of a super user (start-kafka-secure.sh: secure/clients/admin.properties)
#   --prefix          topic prefix (default weightpub)
#   --trainer ...     user names (default: trainer, operator, job, worker); "" skips that role
#   --job-group       the job's group.id (default weightpub-job; granted as a prefix)
#   --transactional-id-prefix  transactional ids of publishers (default weightpub-publisher-)
#   --kafka-acls CMD  grant with this kafka-acls command, e.g. /opt/kafka/bin/kafka-acls.sh
#                     (docker-compose.secured.yml). Default: Kafka's AclCommand from the jars of --libs
#   --dry-run         print the AclCommand argument lines, change nothing
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

BOOTSTRAP="" COMMAND_CONFIG="" PREFIX="weightpub" LIBS="$DEFAULT_LIBS_DIR" DRY_RUN=false KAFKA_ACLS=""
TRAINER=trainer OPERATOR=operator JOB=job WORKER=worker JOB_GROUP=weightpub-job TXN_PREFIX=weightpub-publisher-
while (($#)); do
    case "$1" in
        --bootstrap-server) BOOTSTRAP="$2"; shift 2 ;;
        --command-config) COMMAND_CONFIG="$2"; shift 2 ;;
        --prefix) PREFIX="$2"; shift 2 ;;
        --trainer) TRAINER="$2"; shift 2 ;;
        --operator) OPERATOR="$2"; shift 2 ;;
        --job) JOB="$2"; shift 2 ;;
        --worker) WORKER="$2"; shift 2 ;;
        --job-group) JOB_GROUP="$2"; shift 2 ;;
        --transactional-id-prefix) TXN_PREFIX="$2"; shift 2 ;;
        --kafka-acls) KAFKA_ACLS="$2"; shift 2 ;;
        --libs) LIBS="$2"; shift 2 ;;
        --dry-run) DRY_RUN=true; shift ;;
        *) die "unknown option $1 (see the usage at the top of $0)" ;;
    esac
done
[[ -n "$BOOTSTRAP" ]] || die "--bootstrap-server is required"
[[ -n "$COMMAND_CONFIG" || "$DRY_RUN" == true ]] || die "--command-config (a super user's client settings) is required"
[[ "$PREFIX" =~ ^[A-Za-z0-9._-]+$ ]] || die "topic prefix '$PREFIX' may use only letters, digits, '.', '_' and '-'"
if [[ -n "$KAFKA_ACLS" ]]; then
    read -r -a ACL_COMMAND <<<"$KAFKA_ACLS"
else
    $DRY_RUN || require_libs "$LIBS" kafka
    ACL_COMMAND=("$JAVA" -cp "$LIBS/kafka/*" -Dlog4j2.level=warn org.apache.kafka.tools.AclCommand)
fi

# acl USER OPERATIONS(comma) RESOURCE-ARGS...
acl() {
    local user="$1" operations="$2"
    shift 2
    [[ -n "$user" ]] || return 0
    local args=(--bootstrap-server "$BOOTSTRAP" --add --allow-principal "User:$user")
    local op
    for op in ${operations//,/ }; do args+=(--operation "$op"); done
    args+=("$@")
    if $DRY_RUN; then
        echo "${args[*]}"
    else
        "${ACL_COMMAND[@]}" --command-config "$COMMAND_CONFIG" "${args[@]}" >/dev/null \
            || die "AclCommand failed for User:$user $operations $*"
        info "User:$user may $operations $*"
    fi
}

T="$PREFIX"
acl "$TRAINER" Write,Describe --topic "$T.chunks" --topic "$T.manifests"
acl "$TRAINER" Write,Describe --resource-pattern-type prefixed --transactional-id "$TXN_PREFIX"

acl "$OPERATOR" Write,Describe --topic "$T.control"
acl "$OPERATOR" Read,Describe --topic "$T.versions" --topic "$T.status"
# Describe only: `weightpub rollback` and `versions` ask for the chunks' offsets to tell whether a
# version is still retained; operators never read weights.
acl "$OPERATOR" Describe --topic "$T.chunks"

acl "$JOB" Read,Describe --topic "$T.chunks" --topic "$T.manifests" --topic "$T.control"
acl "$JOB" Read --resource-pattern-type prefixed --group "$JOB_GROUP"
acl "$JOB" Write,Describe --topic "$T.status" --topic "$T.versions" --topic "$T.dlq"

acl "$WORKER" Read,Describe --topic "$T.chunks"
acl "$WORKER" Write,Describe --topic "$T.status"
