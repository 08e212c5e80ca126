#!/usr/bin/env bash
# Set up, then run the main job on the embedded defaults.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$("$root/scripts/setup.sh" | tail -n 1)"
# The main job: run a shipped workflow end to end (builtin operators only, offline, deterministic).
"$venv/bin/symphony" run "$root/examples/welcome.toml" \
  --input 'user={"name": "Ada", "active": true, "plan": "pro"}'
