# Sourced by the deploy checks: installs each pinned tool once into
# .cache/tools/ from the registries this project may use (the Go module proxy,
# PyPI), so CI without Docker or a cluster can still check every deployment file.
# Functions print only to stderr, except `tool_path`.

DEPLOY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$DEPLOY_ROOT/.cache/tools"
TOOLS_BIN="$TOOLS/bin"
TOOLS_VENV="$TOOLS/venv"

check_log() { printf '[deploy-checks] %s\n' "$*" >&2; }

# ensure_go_tool NAME MODULE/PATH@VERSION: `go install` into .cache/tools/bin,
# once per version (a stamp file records which one is there).
ensure_go_tool() {
  local name="$1" spec="$2" stamp="$TOOLS/$1.version"
  if [[ -x "$TOOLS_BIN/$name" && "$(cat "$stamp" 2>/dev/null)" == "$spec" ]]; then return 0; fi
  check_log "installing $spec (Go module proxy)"
  mkdir -p "$TOOLS_BIN"
  GOBIN="$TOOLS_BIN" GOFLAGS=-mod=mod go install "$spec" >&2
  echo "$spec" >"$stamp"
}

# ensure_pip_tool REQUIREMENT...: pip install into one venv under .cache/tools.
ensure_pip_tool() {
  local stamp="$TOOLS/venv.requirements" want="$*"
  if [[ -x "$TOOLS_VENV/bin/python" ]] && grep -qxF "$want" "$stamp" 2>/dev/null; then return 0; fi
  check_log "installing $want (PyPI)"
  [[ -x "$TOOLS_VENV/bin/python" ]] || python3 -m venv "$TOOLS_VENV" >&2
  "$TOOLS_VENV/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
  echo "$want" >>"$stamp"
}

# tool_path NAME: the installed binary (Go tools first, then the venv's).
tool_path() {
  if [[ -x "$TOOLS_BIN/$1" ]]; then echo "$TOOLS_BIN/$1"; else echo "$TOOLS_VENV/bin/$1"; fi
}
