#!/usr/bin/env bash
# Puts Node.js 24 or newer first on PATH: the system's `node` when it is new
# enough, otherwise the official binary the npm registry carries as a package
# (node-<os>-<arch>@<version in .nvmrc>), unpacked once into .cache/node/.
#
#   . scripts/node-env.sh                 in a bash script or shell: sets PATH
#   bash scripts/node-env.sh CMD ARGS...  runs CMD with that PATH (the npm scripts do)
#
# Idempotent; when the binary is already there it costs one `node --version`.
# npm is the one already on PATH (its `#!/usr/bin/env node` then runs on this node).

st_node_env() {
  local root want major version dir os arch pkg tmp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  want="$(tr -d '[:space:]v' <"$root/.nvmrc")"
  major="${want%%.*}"
  version="$(node --version 2>/dev/null || true)"
  version="${version#v}"
  if [[ -n "$version" && "${version%%.*}" -ge "$major" ]]; then return 0; fi

  dir="$root/.cache/node/v$want"
  if [[ ! -x "$dir/bin/node" ]]; then
    case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "node-env: no Node $major package for $(uname -s)" >&2; return 1 ;; esac
    case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "node-env: no Node $major package for $(uname -m)" >&2; return 1 ;; esac
    pkg="node-$os-$arch@$want"
    echo "[node-env] system node is ${version:-missing}: installing $pkg from the npm registry into .cache/node" >&2
    mkdir -p "$root/.cache/node"
    tmp="$(mktemp -d "$root/.cache/node/.install.XXXXXX")"
    # The package is the official build: bin/node, and include/node for native addons.
    if ! (cd "$tmp" && npm pack "$pkg" --silent >/dev/null && tar xzf ./*.tgz && "$tmp/package/bin/node" --version >/dev/null); then
      rm -rf "$tmp"
      echo "node-env: could not install $pkg" >&2
      return 1
    fi
    # Renamed into place in one step, so a concurrent run sees all of it or none.
    [[ -e "$dir" ]] || mv "$tmp/package" "$dir"
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  # Native builds use these headers instead of downloading them.
  export npm_config_nodedir="$dir"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  st_node_env
  (($# > 0)) || { node --version; exit 0; }
  exec "$@"
fi
st_node_env
