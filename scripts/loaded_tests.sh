#!/usr/bin/env bash
# Run the IPC, conductor and DAG tests with one busy-loop process per core (stress-style CPU load), so a test that
# only passes on an idle machine fails here. Extra arguments go to pytest. The busy loops are always killed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
busy=()
stop_load() {
  for pid in "${busy[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait "${busy[@]}" 2>/dev/null || true
}
trap stop_load EXIT
trap 'exit 130' INT TERM
cores="$(nproc)"
# Each loop also ends by itself once this script is gone (killed with SIGKILL, say, so the trap never ran).
spin='import os
parent = os.getppid()
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass'
for _ in $(seq "$cores"); do
  python3 -c "$spin" &
  busy+=("$!")
done
echo "== tests under load ($cores busy-loop processes): tests/ipc tests/conductor tests/dag"
python -m pytest tests/ipc tests/conductor tests/dag -q -p no:cacheprovider "$@"
