#!/usr/bin/env bash
# Parses every Mermaid graph `workflow graph` emits with the real Mermaid parser (npm `mermaid`
# under a jsdom window), failing on any syntax error.
#
#   tests/mermaid/check.sh              graph workflows/, tests/fixtures/graph/ and the spec examples
#   tests/mermaid/check.sh FILE.mmd...  parse the given Mermaid files only
#
# WORKFLOW_BIN may name an already built binary; otherwise a debug build is made (or reused).
# npm packages are installed only when node_modules lacks them, so a second run is quick.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "tests/mermaid/check.sh needs Node.js and npm on PATH" >&2
  exit 1
fi
if [ ! -f "$here/node_modules/mermaid/package.json" ] || [ ! -f "$here/node_modules/jsdom/package.json" ]; then
  echo "== npm install (tests/mermaid)"
  (cd "$here" && npm install --no-package-lock --no-audit --no-fund --loglevel=error)
fi

if [ "$#" -gt 0 ]; then
  exec node "$here/parse.mjs" "$@"
fi

bin="${WORKFLOW_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet --manifest-path "$root/Cargo.toml" --bin workflow
  bin="$root/target/debug/workflow"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

inputs=("$root"/workflows/*.yaml "$root"/tests/fixtures/graph/*.yaml)
if [ -d "$root/../shared/spec/examples" ]; then
  inputs+=("$root"/../shared/spec/examples/*.yaml)
else
  echo "note: ../shared/spec/examples is absent; checking workflows/ only"
fi

status=0
n=0
for input in "${inputs[@]}"; do
  n=$((n + 1))
  name="$(basename "$input" .yaml | tr -c 'A-Za-z0-9_.\n-' '_')"
  # Both directions: the header differs, and LR is what a README usually wants.
  for direction in TD LR; do
    target="$out/$n-$name-$direction.mmd"
    if ! "$bin" graph --direction "$direction" "$input" >"$target"; then
      echo "FAIL workflow graph $input exited non-zero" >&2
      status=1
      rm -f "$target"
    fi
  done
done

shopt -s nullglob
files=("$out"/*.mmd)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no graphs were produced" >&2
  exit 1
fi
node "$here/parse.mjs" "${files[@]}" || status=1
exit "$status"
