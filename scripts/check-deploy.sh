#!/usr/bin/env bash
# Checks every deployment file offline, without Docker or a cluster: runs each
# scripts/deploy-checks/*.sh (compose schema, Dockerfile lint, Kubernetes
# schemas, Terraform, the Jenkinsfile, security scans), reports all failures
# together and exits non-zero if any failed. Tools install once into .cache/tools.
set -uo pipefail
cd "$(dirname "$0")/.."

failed=()
for check in scripts/deploy-checks/*.sh; do
  [[ "$check" == */tools.sh ]] && continue
  name="$(basename "$check" .sh)"
  echo "-- deploy check: $name"
  started=$SECONDS
  if bash "$check"; then
    echo "-- $name: ok ($((SECONDS - started)) s)"
  else
    echo "-- $name: FAILED ($((SECONDS - started)) s)"
    failed+=("$name")
  fi
done

if ((${#failed[@]} > 0)); then
  echo "deploy checks failed: ${failed[*]}" >&2
  exit 1
fi
echo "deploy checks passed"
