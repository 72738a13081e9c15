#!/usr/bin/env bash
# Offline checks of terraform/: formatting, `terraform validate` against the
# Google provider's real schema, then checkov's GCP policies. Nothing here
# talks to GCP or to registry.terraform.io (unreachable from CI): Terraform and
# the provider are built from the Go module proxy into .cache/tools.
# First run about 13 minutes on 2 cores (measured: Terraform 2m28s, the
# provider, a 180 MB binary, 8m44s, checkov 2m); about 5 seconds afterwards.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

# v1.5.7 is the newest Terraform that `go install module@version` can build:
# from v1.6 its go.mod has replace directives, which `go install` refuses.
ensure_go_tool terraform github.com/hashicorp/terraform@v1.5.7

# The provider's go.mod names the module without a /vN suffix, so the proxy
# serves its releases only as pseudo-versions (v1.20.1-0.DATE-COMMIT); the one
# it has is the 8.0.x main branch of 2026-08-28 (version/version.go: "dev8"),
# which is why terraform/versions.tf pins ~> 8.0. No replace directives: a
# plain `go install` builds it.
ensure_go_tool terraform-provider-google \
  github.com/hashicorp/terraform-provider-google@v1.20.1-0.20260828184646-f3721fb45fa3

terraform_bin="$(tool_path terraform)"
cd "$DEPLOY_ROOT"

# A CLI configuration of our own: the machine's may point at a registry, and
# dev_overrides makes Terraform run the provider we built instead of
# downloading one. The data dir keeps .terraform/ out of the work tree.
cli_config="$TOOLS/terraform-offline.tfrc"
cat >"$cli_config" <<EOF
provider_installation {
  dev_overrides {
    "hashicorp/google" = "$TOOLS_BIN"
  }
  # Any other provider has nowhere to come from: fail rather than try the network.
  filesystem_mirror {
    path = "$TOOLS/terraform-mirror"
  }
}
EOF
mkdir -p "$TOOLS/terraform-mirror"
export TF_CLI_CONFIG_FILE="$cli_config"
export TF_DATA_DIR="$TOOLS/terraform-data"
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1 # no version check against checkpoint-api.hashicorp.com

check_log "terraform: fmt -check -recursive terraform/"
"$terraform_bin" fmt -check -recursive -diff terraform/
# -recursive skips the example (not *.tfvars), yet people copy it verbatim.
"$terraform_bin" fmt -check -diff - <terraform/terraform.tfvars.example

# No `terraform init`: under dev_overrides it still looks the provider up in
# its sources (and Terraform's own advice is to skip it); `get` installs just
# the modules, which is all `validate` needs besides the provider.
check_log "terraform: validate terraform/ (hashicorp/google from source, dev_overrides)"
"$terraform_bin" -chdir=terraform get >/dev/null
# Terraform always warns that development overrides are in effect; the output
# is shown only with a failure, where that warning says which build was used.
if ! validate_output="$("$terraform_bin" -chdir=terraform validate -no-color 2>&1)"; then
  printf '%s\n' "$validate_output" >&2
  exit 1
fi
check_log "terraform: validate: the configuration is valid"

ensure_pip_tool checkov==3.3.30
# BC_SKIP_MAPPING and --skip-download: checkov would otherwise fetch guideline
# links and policy updates from its vendor's API on every run.
check_log "terraform: checkov -d terraform --framework terraform"
BC_SKIP_MAPPING=TRUE "$(tool_path checkov)" -d terraform --framework terraform \
  --quiet --compact --skip-download
check_log "terraform: ok"
