#!/usr/bin/env bash
# Provisions and runs StreamTrack's backing services natively, for machines
# without Docker (CI, laptops without an engine):
#   - Apache Kafka 4.x, single-node KRaft, from Maven Central jars
#   - AxonOps Schema Registry (Confluent REST API v1), built from the Go module proxy
#   - the ClickHouse engine (chdb, from npm) behind ClickHouse's HTTP interface
#     (scripts/chdb-http/: test infrastructure, never product storage)
# Everything binds to 127.0.0.1. Downloads are cached in .cache/; state, pids
# and logs live in .run/ (both git-ignored). `down` stops exactly the pids
# `up` started. Kafka authenticates clients with SASL/SCRAM-SHA-512 and
# authorizes them with ACLs, as production's does; its users' passwords are
# made at the first `up` into .run/kafka/credentials and printed by `env`.
#
# Usage: scripts/services.sh up|down|kill|status [kafka|schema-registry|clickhouse ...]
#        scripts/services.sh env
# Only `up` and `env` write to stdout: the services' addresses as exports,
# with Kafka's SASL settings (KAFKA_SASL_*: the admin user) and the role
# users' passwords (ST_KAFKA_API_PASSWORD, ST_KAFKA_WORKER_PASSWORD).
# With no service named, all three. ST_RUN_DIR and the ST_*_PORT variables
# let a test run a second, private instance (e.g. a broker it can stop).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
RUN="${ST_RUN_DIR:-$ROOT/.run}"
LOGS="$RUN/logs"
ALL_SERVICES=(kafka schema-registry clickhouse)

KAFKA_PORT="${ST_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${ST_KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${ST_REGISTRY_PORT:-8081}"
CLICKHOUSE_PORT="${ST_CLICKHOUSE_PORT:-8123}"
# Enough partitions for the largest worker count we scale to (one per worker).
KAFKA_PARTITIONS="${ST_KAFKA_PARTITIONS:-12}"

REGISTRY_MODULE="github.com/axonops/axonops-schema-registry"
# The newest version the module proxy serves here; later tags are refused.
REGISTRY_VERSION="v0.2.1"

log() { printf '[services] %s\n' "$*" >&2; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # name timeout_seconds command...
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$RUN/$name.pid" || ((SECONDS >= deadline)); then
      log "$name did not become ready (${timeout}s); last log lines:"
      tail -n 30 "$LOGS/$name.log" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts a process detached in its own session so `down` can stop its group.
start_detached() { # name command...
  local name="$1"; shift
  if pid_alive "$RUN/$name.pid"; then
    log "$name already running (pid $(cat "$RUN/$name.pid"))"
    return 0
  fi
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  log "$name started (pid $!)"
}

# ---------- Kafka ----------
ensure_kafka_libs() {
  local libs="$CACHE/kafka/libs"
  [[ -f "$libs/.complete" ]] && return 0
  log "resolving Kafka from Maven Central"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -Dstyle.color=never -f "$ROOT/scripts/kafka/pom.xml" \
    dependency:copy-dependencies -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

# The broker's SCRAM users: admin (super user: topics, ACLs; init and tests),
# and one per process role, which get only the ACLs granted to them (the
# tests grant those of src/kafka/acls.ts, as k8s/'s KafkaUsers do, on their
# own topics: testing/deployment.ts).
KAFKA_SCRAM_USERS=(admin streamtrack-api streamtrack-worker)

random_password() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# kafka_credentials DIR: the passwords of the broker's users, made once with
# its storage and kept in DIR/credentials (mode 600, in the git-ignored run
# directory; never committed). A store formatted before the broker had SASL
# has no users: it is formatted again, losing its local test data.
kafka_credentials() {
  local dir="$1"
  [[ -f "$dir/credentials" ]] && return 0
  if [[ -f "$dir/data/meta.properties" ]]; then
    log "Kafka storage in $dir predates SASL (no credentials): formatting it again"
    rm -rf "$dir/data" && mkdir -p "$dir/data"
  fi
  (umask 077 && cat >"$dir/credentials" <<EOF_CREDENTIALS
ADMIN_PASSWORD=$(random_password)
API_PASSWORD=$(random_password)
WORKER_PASSWORD=$(random_password)
CONTROLLER_PASSWORD=$(random_password)
EOF_CREDENTIALS
  )
}

# print_kafka_sasl_env: the clients' SASL settings (the admin user's) and the
# role users' passwords, for a broker this script formatted.
print_kafka_sasl_env() {
  local file="$RUN/kafka/credentials"
  [[ -f "$file" ]] || return 0
  # shellcheck source=/dev/null
  (source "$file"
   echo "export KAFKA_SASL_MECHANISM=scram-sha-512"
   echo "export KAFKA_SASL_USERNAME=admin"
   echo "export KAFKA_SASL_PASSWORD=$ADMIN_PASSWORD"
   echo "export ST_KAFKA_API_PASSWORD=$API_PASSWORD"
   echo "export ST_KAFKA_WORKER_PASSWORD=$WORKER_PASSWORD")
}

KAFKA_JAVA=(java -Xms256m -Xmx768m -XX:+UseG1GC
  "-Dlog4j2.configurationFile=$ROOT/scripts/kafka/log4j2.properties"
  -cp "$CACHE/kafka/libs/*")

kafka_up() {
  ensure_kafka_libs
  local dir="$RUN/kafka"
  # Never format or rewrite the files of a broker that is running.
  if pid_alive "$RUN/kafka.pid"; then log "kafka already running (pid $(cat "$RUN/kafka.pid"))"; return 0; fi
  mkdir -p "$dir/data"
  kafka_credentials "$dir"
  # shellcheck source=/dev/null
  source "$dir/credentials"
  (umask 077 && sed -e "s#@DATA@#$dir/data#" \
      -e "s#@PORT@#$KAFKA_PORT#g" \
      -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@PARTITIONS@#$KAFKA_PARTITIONS#" \
      -e "s#@ADMIN_PASSWORD@#$ADMIN_PASSWORD#" \
      -e "s#@CONTROLLER_PASSWORD@#$CONTROLLER_PASSWORD#g" \
      "$ROOT/scripts/kafka/server.properties" >"$dir/server.properties")
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    log "formatting Kafka storage (SCRAM users: ${KAFKA_SCRAM_USERS[*]})"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --standalone \
      --cluster-id "$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid)" \
      --config "$dir/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$ADMIN_PASSWORD]" \
      --add-scram "SCRAM-SHA-512=[name=streamtrack-api,password=$API_PASSWORD]" \
      --add-scram "SCRAM-SHA-512=[name=streamtrack-worker,password=$WORKER_PASSWORD]" \
      >"$LOGS/kafka-format.log" 2>&1
  fi
  start_detached kafka "${KAFKA_JAVA[@]}" kafka.Kafka "$dir/server.properties"
}

kafka_ready() { port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$LOGS/kafka.log"; }

# ---------- Schema Registry ----------
ensure_registry_bin() {
  local bin="$CACHE/bin/schema-registry-$REGISTRY_VERSION" dir
  [[ -x "$bin" ]] && return 0
  log "building AxonOps Schema Registry $REGISTRY_VERSION from the Go module proxy"
  mkdir -p "$CACHE/bin"
  # `go install mod@version` also asks the proxy for the module's version list,
  # which it refuses here; download the exact version and build it in place.
  dir="$(go mod download -json "$REGISTRY_MODULE@$REGISTRY_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  (cd "$dir" && go build -o "$bin" ./cmd/schema-registry) >&2
}

registry_up() {
  ensure_registry_bin
  sed -e "s#@PORT@#$REGISTRY_PORT#" "$ROOT/scripts/schema-registry.yaml" >"$RUN/schema-registry.yaml"
  start_detached schema-registry "$CACHE/bin/schema-registry-$REGISTRY_VERSION" -config "$RUN/schema-registry.yaml"
}

registry_ready() { curl -fsS "http://127.0.0.1:$REGISTRY_PORT/subjects"; }

# ---------- ClickHouse (chdb engine over HTTP) ----------
# The chdb server is a node process: it runs on the project's Node 24.
use_project_node() { source "$ROOT/scripts/node-env.sh"; }

ensure_chdb() {
  local dir="$ROOT/scripts/chdb-http"
  [[ -f "$dir/node_modules/.installed" ]] && return 0
  log "installing the chdb engine from npm"
  # `npm install`, not `npm ci`: the lock names only the platform packages
  # the registry serves here, which `npm ci` refuses as out of sync.
  # --ignore-scripts: chdb's own install script is empty, its engine prebuilt.
  npm install --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  touch "$dir/node_modules/.installed"
}

clickhouse_up() {
  [[ -d "$ROOT/node_modules/tsx" ]] || { log "tsx missing: run npm ci first"; return 1; }
  use_project_node
  ensure_chdb
  mkdir -p "$RUN/clickhouse"
  start_detached clickhouse env CHDB_HTTP_PORT="$CLICKHOUSE_PORT" CHDB_DATA_DIR="$RUN/clickhouse" \
    node --import tsx "$ROOT/scripts/chdb-http/server.ts"
}

clickhouse_ready() { curl -fsS "http://127.0.0.1:$CLICKHOUSE_PORT/ping"; }

# ---------- commands ----------
service_up() {
  case "$1" in
    kafka) kafka_up ;;
    schema-registry) registry_up ;;
    clickhouse) clickhouse_up ;;
    *) log "unknown service $1"; return 2 ;;
  esac
}

service_wait() {
  case "$1" in
    kafka) wait_for kafka 120 kafka_ready ;;
    schema-registry) wait_for schema-registry 60 registry_ready ;;
    clickhouse) wait_for clickhouse 120 clickhouse_ready ;;
  esac
}

print_env() {
  echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT"
  echo "export CLICKHOUSE_URL=http://127.0.0.1:$CLICKHOUSE_PORT"
  print_kafka_sasl_env
}

up() {
  mkdir -p "$CACHE" "$LOGS"
  local name
  for name in "$@"; do service_up "$name"; done
  for name in "$@"; do service_wait "$name"; done
  log "ready: $*"
}

down() {
  local name pidfile pid
  for name in "$@"; do
    pidfile="$RUN/$name.pid"
    [[ -f "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      log "$name stopped"
    fi
    rm -f "$pidfile"
  done
}

# `down` without waiting: SIGKILL (npm start's second Ctrl-C).
kill_now() {
  local name pidfile
  for name in "$@"; do
    pidfile="$RUN/$name.pid"
    [[ -f "$pidfile" ]] || continue
    kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    log "$name killed"
  done
}

status() {
  local name rc=0
  for name in "$@"; do
    if pid_alive "$RUN/$name.pid"; then
      echo "$name: running (pid $(cat "$RUN/$name.pid"))"
    else
      echo "$name: stopped"; rc=3
    fi
  done
  return $rc
}

command="${1:-}"
shift || true
(($# > 0)) || set -- "${ALL_SERVICES[@]}"
case "$command" in
  up) up "$@"; print_env ;;
  down) down "$@" ;;
  kill) kill_now "$@" ;;
  status) status "$@" ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|kill|status [kafka|schema-registry|clickhouse ...] | env" >&2; exit 2 ;;
esac
