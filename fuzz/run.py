"""Run every coverage-guided fuzzing harness for a bounded time; fail on any crash, hang or memory blow-up.

Each harness ``fuzz/fuzz_<name>.py`` runs in its own subprocess (its own
process group, killed if it outlives its time), seeded from
``fuzz/corpus/<name>/``.  What libFuzzer finds (``crash-*``, ``timeout-*``,
``oom-*``) is written into that folder, to be committed as a regression seed
once fixed; the inputs it merely finds interesting go to a scratch folder
(``--work`` keeps them, for longer runs that build on each other).  A
harness's tokens in ``fuzz/dicts/<name>.dict`` steer the mutations.  See
docs/fuzzing.md.

    python fuzz/run.py --seconds 15              # what CI runs
    python fuzz/run.py --seconds 600 conditions  # one harness, longer
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from _harness import UNFIXED

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
#: Per input: a parser taking longer than this on one input is hung.
INPUT_TIMEOUT_S = 10
#: Resident memory of the fuzzing process; an input driving it past this is a finding.
RSS_LIMIT_MB = 1024
#: Longest input libFuzzer generates; every harness cuts what it parses further.
MAX_LEN = 16384
#: Start-up (instrumenting imports) and the final report, beyond the fuzzing time itself.
GRACE_S = 60
_FINDINGS = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


def harnesses() -> list[str]:
    """Every harness's name, from the ``fuzz_<name>.py`` files beside this script."""
    return sorted(path.stem.removeprefix("fuzz_") for path in HERE.glob("fuzz_*.py"))


def _findings(folder: Path) -> set[Path]:
    return {path for path in folder.iterdir() if path.name.startswith(_FINDINGS)}


def fuzz_one(name: str, seconds: int, work: Path) -> bool:
    """Fuzz ``name`` for ``seconds``; True when it ran clean, else print what it found and return False."""
    seeds = CORPUS / name
    seeds.mkdir(parents=True, exist_ok=True)
    scratch = work / name
    scratch.mkdir(parents=True, exist_ok=True)
    before = _findings(seeds)
    command = [
        sys.executable,
        str(HERE / f"fuzz_{name}.py"),
        str(scratch),
        str(seeds),
        f"-max_total_time={seconds}",
        f"-timeout={INPUT_TIMEOUT_S}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
        f"-max_len={MAX_LEN}",
        f"-artifact_prefix={seeds}{os.sep}",
        "-print_final_stats=1",
    ]
    if (dictionary := HERE / "dicts" / f"{name}.dict").is_file():
        command.append(f"-dict={dictionary}")
    log = work / f"{name}.log"
    print(f"== fuzz {name} ({seconds} s)", flush=True)
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=seconds + GRACE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
    lines = log.read_text(errors="replace").splitlines()
    runs = next((line for line in reversed(lines) if line.startswith("Done ")), "")
    found = sorted(_findings(seeds) - before)
    if code == 0 and not found:
        print(f"   clean: {runs or 'no summary'}", flush=True)
        return True
    why = "hung past its time and was killed" if code is None else f"exit status {code}"
    print(f"   FAILED ({why}); last lines of {log}:", flush=True)
    print("\n".join("   | " + line for line in lines[-40:] if not line.startswith("INFO: Instrumenting")))
    for path in found:
        print(f"   input kept: {path.relative_to(HERE.parent)}  (replay: pytest tests/fuzz/test_corpus_replay.py)")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="harnesses to run (default: all but the unfixed)")
    parser.add_argument("--seconds", type=int, default=15, help="fuzzing time per harness (default 15, as in CI)")
    parser.add_argument("--work", type=Path, help="keep the generated corpus here (default: a temporary folder)")
    options = parser.parse_args(argv)
    known = harnesses()
    if unknown := sorted(set(options.names) - set(known)):
        parser.error(f"no harness named {', '.join(unknown)}; the harnesses are: {', '.join(known)}")
    if options.seconds <= 0:
        parser.error(f"--seconds must be a positive number of seconds, got {options.seconds}")
    names = options.names or [name for name in known if name not in UNFIXED]
    for name in sorted((set(UNFIXED) & set(known)) - set(names)):
        print(f"== skip {name}: a known crash, reported and not yet fixed: {UNFIXED[name]}")
    with tempfile.TemporaryDirectory(prefix="symphony-fuzz-") as temporary:
        work = options.work or Path(temporary)
        failed = [name for name in names if not fuzz_one(name, options.seconds, work)]
    if failed:
        print(f"fuzzing found problems in: {', '.join(failed)}")
        return 1
    print(f"fuzzing clean: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
