#!/usr/bin/env bash
# docker-compose.yml against the Compose Specification's JSON schema (the one
# Docker Compose itself validates with, from compose-go on the Go module
# proxy), checked by check-jsonschema (PyPI). No Docker engine needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

COMPOSE_GO="github.com/compose-spec/compose-go/v2@v2.9.0"
ensure_pip_tool check-jsonschema==0.39.0

schema_dir="$(GOFLAGS=-mod=mod go mod download -json "$COMPOSE_GO" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
check_log "compose: docker-compose.yml against $COMPOSE_GO schema/compose-spec.json"
"$(tool_path check-jsonschema)" --schemafile "$schema_dir/schema/compose-spec.json" "$DEPLOY_ROOT/docker-compose.yml"
