#!/usr/bin/env bash
# Set up with the test tools, then run the whole test suite (extra arguments go to pytest).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/scripts/setup.sh" --dev | tail -n 1)"
cd "$root"
"$venv/bin/python" -m pytest "$@"
