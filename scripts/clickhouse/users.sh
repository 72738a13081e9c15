#!/usr/bin/env bash
# Prints the SQL that creates StreamTrack's ClickHouse users and their grants
# (users.sql), for an administrator's client to run:
#
#   CH_DATABASE=streamtrack CH_USER_PREFIX=streamtrack \
#   CH_INIT_PASSWORD=... CH_API_PASSWORD=... CH_WORKER_PASSWORD=... \
#     bash scripts/clickhouse/users.sh | clickhouse-client --multiquery
#
# The passwords come from the environment (in Kubernetes, the Secret the pods
# read; in docker-compose, its file) and reach ClickHouse only as SHA-256
# hashes. Users: <prefix>_init, <prefix>_api, <prefix>_worker.
set -euo pipefail

database="${CH_DATABASE:-streamtrack}"
prefix="${CH_USER_PREFIX:-streamtrack}"
identifier='^[A-Za-z_][A-Za-z0-9_]*$'
[[ "$database" =~ $identifier && "$prefix" =~ $identifier ]] || { echo "CH_DATABASE and CH_USER_PREFIX must be identifiers" >&2; exit 2; }

hash() { # NAME: the SHA-256 (hex) of the password in variable NAME, which must be set
  local value="${!1:-}"
  [[ -n "$value" ]] || { echo "$1 is required" >&2; exit 2; }
  printf '%s' "$value" | sha256sum | cut -d' ' -f1
}

init="$(hash CH_INIT_PASSWORD)"
api="$(hash CH_API_PASSWORD)"
worker="$(hash CH_WORKER_PASSWORD)"
sed -e "s/@DATABASE@/$database/g" -e "s/@PREFIX@/$prefix/g" \
    -e "s/@INIT_PASSWORD_SHA256@/$init/g" -e "s/@API_PASSWORD_SHA256@/$api/g" -e "s/@WORKER_PASSWORD_SHA256@/$worker/g" \
    "$(dirname "${BASH_SOURCE[0]}")/users.sql"
