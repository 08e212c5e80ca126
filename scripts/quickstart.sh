#!/usr/bin/env bash
# Set up, then run the main job on the embedded defaults.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/scripts/setup.sh" | tail -n 1)"
"$venv/bin/symphony" doctor
