#!/usr/bin/env bash
# Offline checks of k8s/ (no cluster, no network beyond the registries):
#  1. render the base and every overlay with kustomize;
#  2. validate every rendered resource with kubeconform -strict against local
#     JSON schemas: Kubernetes' own, made from the OpenAPI spec in the Go
#     module k8s.io/kubernetes, KEDA's ScaledObject and TriggerAuthentication,
#     made from the CRDs in the Go module github.com/kedacore/keda/v2, and
#     Strimzi's KafkaUser from the subset of its CRD in crds/ (Strimzi's own is
#     on no registry here) (k8s-schemas.py). No schema is fetched from the web
#     and none may be missing: an unknown kind fails;
#  3. prove that validation bites: broken copies of the manifests must fail;
#  4. checkov on the rendered overlays (what is deployed);
#  5. the prod overlay requires API keys: STREAMTRACK_AUTH=keys, and nothing
#     in it sets `open` (the laptop mode).
# Tools and schemas are pinned and cached under .cache/tools/.
#
# Usage: bash scripts/deploy-checks/k8s.sh            all checks; non-zero on any failure
#        bash scripts/deploy-checks/k8s.sh --install  only install kustomize (k8s-scaling.test.ts)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

KUSTOMIZE_MODULE=sigs.k8s.io/kustomize/kustomize/v5@v5.7.1
KUBECONFORM_MODULE=github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0
CHECKOV_REQUIREMENT=checkov==3.3.30
# The schemas: the Kubernetes release the manifests are written for (the
# preStop `sleep` action needs 1.30 or later) and the KEDA release installed.
KUBERNETES_MODULE=k8s.io/kubernetes@v1.33.6
KEDA_MODULE=github.com/kedacore/keda/v2@v2.17.2
KEDA_CRDS=(config/crd/bases/keda.sh_scaledobjects.yaml config/crd/bases/keda.sh_triggerauthentications.yaml)
LOCAL_CRDS=("$DEPLOY_ROOT"/scripts/deploy-checks/crds/*.yaml)

K8S_DIR="$DEPLOY_ROOT/k8s"
SCHEMAS="$TOOLS/k8s-schemas"
SCHEMA_CONVERTER="$DEPLOY_ROOT/scripts/deploy-checks/k8s-schemas.py"
KUBERNETES_VERSION="${KUBERNETES_MODULE##*@v}"

ensure_go_tool kustomize "$KUSTOMIZE_MODULE"
if [[ "${1:-}" == "--install" ]]; then exit 0; fi
[[ $# -eq 0 ]] || { echo "usage: $0 [--install]" >&2; exit 2; }

ensure_go_tool kubeconform "$KUBECONFORM_MODULE"
ensure_pip_tool "$CHECKOV_REQUIREMENT"
KUSTOMIZE="$(tool_path kustomize)"
KUBECONFORM="$(tool_path kubeconform)"
CHECKOV="$(tool_path checkov)"

# module_dir MODULE@VERSION: the module's files, from the Go module proxy.
module_dir() {
  (cd "$TOOLS" && GOFLAGS=-mod=mod go mod download -json "$1") |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])'
}

# The schemas are made again only when a pinned module or the converter changes.
ensure_schemas() {
  local want stamp="$SCHEMAS/.stamp"
  want="$KUBERNETES_MODULE $KEDA_MODULE ${KEDA_CRDS[*]} $(cat "$SCHEMA_CONVERTER" "${LOCAL_CRDS[@]}" | sha256sum | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null)" == "$want" ]]; then return 0; fi
  check_log "making JSON schemas from $KUBERNETES_MODULE and $KEDA_MODULE (Go module proxy)"
  local kubernetes keda crds=()
  kubernetes="$(module_dir "$KUBERNETES_MODULE")"
  keda="$(module_dir "$KEDA_MODULE")"
  for crd in "${KEDA_CRDS[@]}"; do crds+=("$keda/$crd"); done
  crds+=("${LOCAL_CRDS[@]}")
  rm -rf "$SCHEMAS"
  "$TOOLS_VENV/bin/python" "$SCHEMA_CONVERTER" \
    "$kubernetes/api/openapi-spec/swagger.json" "$KUBERNETES_VERSION" "$SCHEMAS" "${crds[@]}"
  echo "$want" >"$stamp"
}
ensure_schemas

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# render KUSTOMIZATION_DIR OUT_FILE: a build that fails or yields nothing
# ends the checks (there would be nothing to validate).
render() {
  if ! "$KUSTOMIZE" build "$1" >"$2" || [[ ! -s "$2" ]]; then
    check_log "FAIL: kustomize build ${1#"$DEPLOY_ROOT"/} rendered nothing"
    exit 1
  fi
}

# validate FILE...: kubeconform, strict, local schemas only.
validate() {
  "$KUBECONFORM" -strict -summary -output text \
    -schema-location "$SCHEMAS" -kubernetes-version "$KUBERNETES_VERSION" "$@"
}

failures=0
fail() { check_log "FAIL: $*"; failures=$((failures + 1)); }

# 1 + 2: render and validate the base and every overlay.
mkdir -p "$WORK/rendered/overlays"
render "$K8S_DIR/base" "$WORK/rendered/base.yaml"
overlays=()
for dir in "$K8S_DIR"/overlays/*/; do
  name="$(basename "$dir")"
  overlays+=("$name")
  render "$dir" "$WORK/rendered/overlays/$name.yaml"
done
check_log "rendered k8s/base and overlays: ${overlays[*]}"
check_log "kubeconform -strict (Kubernetes $KUBERNETES_VERSION, ${KEDA_MODULE#*@} ScaledObject and TriggerAuthentication, Strimzi KafkaUser)"
if ! validate "$WORK/rendered/base.yaml" "$WORK/rendered/overlays/"*.yaml; then
  fail "kubeconform found invalid manifests"
fi

# 3: each mutant is a copy of k8s/ with one mistake; rendering it must still
# work and kubeconform must reject it, naming the broken resource.
# mutant NAME FILE SED_EXPRESSION EXPECTED_OUTPUT
mutant() {
  local name="$1" file="$2" edit="$3" expected="$4" copy="$WORK/mutants/$1"
  mkdir -p "$copy" && cp -r "$K8S_DIR" "$copy/"
  sed -i -e "$edit" "$copy/k8s/$file"
  if cmp -s "$K8S_DIR/$file" "$copy/k8s/$file"; then fail "mutant $name: the edit changed nothing"; return; fi
  render "$copy/k8s/base" "$copy/rendered.yaml"
  local out
  if out="$(validate "$copy/rendered.yaml" 2>&1)"; then
    fail "mutant $name: kubeconform accepted it"
  elif ! grep -qF "$expected" <<<"$out"; then
    fail "mutant $name: kubeconform failed without '$expected': $out"
  else
    check_log "mutant $name rejected as expected"
  fi
}
mutant misspelt-field base/api.yaml 's/readOnlyRootFilesystem: true/readOnlyRootFileSystem: true/' \
  "Deployment streamtrack-api is invalid"
mutant crd-wrong-type base/worker.yaml 's/maxReplicaCount: 4/maxReplicaCount: "4"/' \
  "ScaledObject streamtrack-worker is invalid"
mutant crd-unknown-field base/worker.yaml 's/cooldownPeriod: 300/cooldownPeriod: 300\n  maxReplicas: 4/' \
  "additional properties 'maxReplicas' not allowed"
mutant kafkauser-bad-operation base/kafka-users.yaml 's/operations: \[Write, Read, Describe\]/operations: [Write, Read, Describe, Everything]/' \
  "KafkaUser streamtrack-api is invalid"
mutant unknown-kind base/network-policy.yaml 's|^apiVersion: networking.k8s.io/v1$|apiVersion: example.com/v1|' \
  "could not find schema for NetworkPolicy"

# 5: prod never runs without API keys (src/config.ts: STREAMTRACK_AUTH): its
# ConfigMap says keys, nothing says open, and no container overrides it.
prod="$WORK/rendered/overlays/prod.yaml"
grep -qE '^  STREAMTRACK_AUTH: "?keys"?$' "$prod" || fail "overlays/prod: the ConfigMap must set STREAMTRACK_AUTH=keys"
if grep -nE 'STREAMTRACK_AUTH(: *|=)"?open|name: STREAMTRACK_AUTH$' "$prod" >&2; then
  fail "overlays/prod: STREAMTRACK_AUTH open, or set outside the ConfigMap (lines above)"
fi
check_log "overlays/prod: STREAMTRACK_AUTH=keys, never open"

# 4: checkov on what is deployed. The base is left out: it has no namespace
# and no image tag by design (the overlays set them).
check_log "checkov --framework kubernetes on overlays: ${overlays[*]}"
if ! "$CHECKOV" -d "$WORK/rendered/overlays" --framework kubernetes --quiet --compact --skip-download |
  tee "$WORK/checkov.txt"; then
  fail "checkov found failing checks"
elif ! grep -Eq 'Passed checks: [1-9]' "$WORK/checkov.txt"; then
  fail "checkov ran no check"
fi
check_log "checkov skips (annotations in k8s/base, each with its reason):"
grep -ho 'checkov.io/skip[0-9]*: .*' "$K8S_DIR"/base/*.yaml | sed 's/^checkov.io\/skip[0-9]*: /  /' | sort -u >&2

if ((failures > 0)); then
  check_log "$failures check(s) failed"
  exit 1
fi
check_log "k8s/: all checks passed"
