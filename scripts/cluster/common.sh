# shellcheck shell=bash
# Helpers shared by the cluster scripts. Sourced, never run.

CLUSTER_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$CLUSTER_SCRIPTS_DIR/../.." && pwd)"
DEFAULT_LIBS_DIR="$REPO_ROOT/target/cluster-libs"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

die() {
    echo "error: $*" >&2
    exit 1
}

info() {
    echo "[$(date +%H:%M:%S)] $*" >&2
}

abs_path() {
    mkdir -p "$1" && (cd "$1" && pwd)
}

# Something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a port on 127.0.0.1 that nothing listens on. Picked below Linux's ephemeral range
# (32768+) so that outgoing connections do not take it meanwhile; ports given as arguments are
# skipped (already handed out by the caller).
free_port() {
    local port attempt taken
    for attempt in $(seq 1 500); do
        port=$((20000 + RANDOM % 12000))
        taken=false
        for p in "$@"; do [[ "$p" == "$port" ]] && taken=true; done
        if ! $taken && ! port_open "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "found no free port on 127.0.0.1"
}

# The process with pid $1 runs and was started for work folder $2. Every JVM the scripts start
# carries -Dweightpub.work=<folder>, so a recycled pid is never mistaken for ours.
owned_process_alive() {
    local pid="$1" work="$2"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    # Read whole before matching: a grep -q that stops early would fail the pipe under pipefail.
    local args
    args=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    grep -qxF -- "-Dweightpub.work=$work" <<<"$args"
}

# Stops the process of pid file $1 (TERM, then KILL after $3 seconds) and removes the file.
stop_pid_file() {
    local pid_file="$1" work="$2" grace="${3:-20}" pid waited
    [[ -f "$pid_file" ]] || return 0
    pid="$(cat "$pid_file")"
    if owned_process_alive "$pid" "$work"; then
        kill -TERM "$pid" 2>/dev/null || true
        waited=0
        while kill -0 "$pid" 2>/dev/null && ((waited < grace * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            info "pid $pid ($(basename "$pid_file" .pid)) ignored TERM for ${grace}s: killing it"
            kill -KILL "$pid" 2>/dev/null || true
            while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        fi
    fi
    rm -f "$pid_file"
}

# Waits up to $2 seconds until command "$3..." succeeds; fails early (printing the log $1) once
# the process of pid file $PID_FILE_TO_WATCH has died.
wait_until() {
    local log="$1" timeout="$2"
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        if [[ -n "${PID_FILE_TO_WATCH:-}" ]] && ! kill -0 "$(cat "$PID_FILE_TO_WATCH")" 2>/dev/null; then
            echo "--- $log (last 60 lines) ---" >&2
            tail -n 60 "$log" >&2 || true
            die "the process of $PID_FILE_TO_WATCH died while starting; see $log"
        fi
        if ((SECONDS >= deadline)); then
            echo "--- $log (last 60 lines) ---" >&2
            tail -n 60 "$log" >&2 || true
            die "timed out after ${timeout}s waiting for: $*"
        fi
        sleep 0.5
    done
}

# Starts a JVM in the background, detached from this shell, its output going to $2; writes its
# pid to $1. The remaining arguments are the java command line (without the java binary).
start_jvm() {
    local pid_file="$1" out="$2"
    shift 2
    nohup "$JAVA" "$@" >"$out" 2>&1 </dev/null &
    echo $! >"$pid_file"
}

# Prints a new KRaft cluster id: 16 random bytes in URL-safe base64 without padding (the form of
# kafka-storage random-uuid). One id in 64 would start with '-', which `kafka-storage format -t`
# reads as an option; like Kafka's own Uuid.randomUuid, such an id is drawn again.
new_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
        if [[ "$id" != -* ]]; then
            echo "$id"
            return 0
        fi
    done
}

require_libs() {
    local libs="$1" what="$2"
    compgen -G "$libs/$what/*.jar" >/dev/null \
        || die "no jars in $libs/$what: run scripts/cluster/fetch.sh${libs:+ $libs} first"
}

# The module opens Flink's own distribution passes to every JVM on Java 17 (its config.yaml
# default for env.java.opts.all): Flink reflects into these JDK internals (Kryo, Netty, memory).
FLINK_JVM_OPENS=(
    --add-exports=java.base/sun.net.util=ALL-UNNAMED
    --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED
    --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED
    --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED
    --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED
    --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
    --add-opens=java.base/java.lang=ALL-UNNAMED
    --add-opens=java.base/java.net=ALL-UNNAMED
    --add-opens=java.base/java.io=ALL-UNNAMED
    --add-opens=java.base/java.nio=ALL-UNNAMED
    --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens=java.base/java.text=ALL-UNNAMED
    --add-opens=java.base/java.time=ALL-UNNAMED
    --add-opens=java.base/java.util=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
    --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

# GET of http://127.0.0.1:$1$2, body on stdout; curl where installed, bash's /dev/tcp otherwise
# (the scripts need only Java and Maven).
http_get() {
    local port="$1" path="$2"
    if command -v curl >/dev/null 2>&1; then
        curl -sf --max-time 5 "http://127.0.0.1:$port$path"
    else
        timeout 5 bash -c '
            exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" "$2" >&3
            response="$(cat <&3)"
            [[ "$response" == "HTTP/1.1 200"* ]] || exit 1
            printf "%s" "${response#*$'"'"'\r\n\r\n'"'"'}"' _ "$port" "$path"
    fi
}

# Runs Flink's BashJavaUtils ($1: GET_JM_RESOURCE_PARAMS or GET_TM_RESOURCE_PARAMS) over the
# conf folder $2 and dynamic properties "${@:3}" (-D key=value pairs), as Flink's bin/config.sh
# does. Sets FLINK_MEMORY_JVM_ARGS (heap, direct, metaspace sizes) and FLINK_MEMORY_DYNAMIC_ARGS
# (the derived memory settings, as "-D key=value" words for the entry point). On failure the error
# ends with $FLINK_MEMORY_HINT where set.
flink_memory_args() {
    local command="$1" conf="$2" libs="$3"
    shift 3
    local output results
    output="$("$JAVA" -cp "$libs/flink/*" org.apache.flink.runtime.util.bash.BashJavaUtils \
        "$command" --configDir "$conf" "$@" 2>&1)" \
        || { grep -v $'^\tat ' <<<"$output" >&2; die "BashJavaUtils $command failed${FLINK_MEMORY_HINT:+: $FLINK_MEMORY_HINT}"; }
    results="$(grep '^BASH_JAVA_UTILS_EXEC_RESULT:' <<<"$output" | sed 's/^BASH_JAVA_UTILS_EXEC_RESULT://' | tail -n 2)"
    [[ "$(wc -l <<<"$results")" -eq 2 ]] || { echo "$output" >&2; die "unexpected BashJavaUtils output"; }
    read -r -a FLINK_MEMORY_JVM_ARGS <<<"$(head -n 1 <<<"$results")"
    read -r -a FLINK_MEMORY_DYNAMIC_ARGS <<<"$(tail -n 1 <<<"$results")"
}

# Fails when the process of pid file $1, started for work folder $2, still runs ($3 names it).
refuse_if_running() {
    if [[ -f "$1" ]] && owned_process_alive "$(cat "$1")" "$2"; then
        die "$3 of $2 already runs (pid $(cat "$1")); stop it with stop-all.sh --work $2"
    fi
}

# Checks --work and --libs of a start script and makes both absolute; $1 names the jars needed
# (kafka or flink).
resolve_work_and_libs() {
    [[ -n "$WORK" ]] || die "--work DIR is required"
    WORK="$(abs_path "$WORK")"
    LIBS="$(abs_path "$LIBS")"
    require_libs "$LIBS" "$1"
}
