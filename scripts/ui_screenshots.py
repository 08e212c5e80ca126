"""Screenshot each view of the web console for docs/ui.md: ``python scripts/ui_screenshots.py [OUT_DIR]``.

Starts a real ``symphony ui`` on a temporary project (the shipped welcome example), runs it once, grants a
capability and stores an artifact so every view has something to show, then drives the system's headless
Chromium (``$SYMPHONY_CHROMIUM``, default /usr/bin/chromium) through the views at 1280x800 (and one at 420 px).
OUT_DIR defaults to docs/images/ui.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the repository's benchmarks/ helpers, as benchmarks/run.py does

from benchmarks._console import login_link  # noqa: E402

SYMPHONY = str(Path(sys.executable).parent / "symphony")
CHROMIUM = os.environ.get("SYMPHONY_CHROMIUM", "/usr/bin/chromium")
API = "/ui/api/v1"
USER = json.dumps({"name": "Ada", "active": True, "plan": "pro"})


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(400)  # let the graph's refined layout settle before the picture
    page.screenshot(path=str(out / f"{name}.png"))
    print(out / f"{name}.png")


def shoot_views(link: str, out: Path) -> None:
    """Each view of the console at ``link`` (logged in through it), and the run view on a narrow window."""
    base = link.partition("/?login=")[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base).new_page()
        page.set_default_timeout(120_000)
        page.goto(link)
        expect(page.locator("#who")).to_contain_text("(admin)")
        page.request.post(f"{API}/extensions/sample-fetcher/grants", data={"capability": "network:api.example.org:443"})
        started = page.request.post(f"{API}/runs", data={"workflow": "welcome", "inputs": {"user": USER}})
        run_id = started.json()["run_id"]
        page.goto(f"{base}/#/workflows/welcome")
        expect(page.locator(".graph canvas").first).to_be_visible()
        page.get_by_role("button", name="parse — json-parse").click()
        shoot(page, out, "workflow")
        page.goto(f"{base}/#/runs/{run_id}")
        expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded", timeout=120_000)
        page.get_by_role("button", name="greet — succeeded").click()
        shoot(page, out, "run")
        page.goto(f"{base}/#/runs")
        expect(page.get_by_role("link", name=run_id)).to_be_visible()
        shoot(page, out, "runs")
        page.goto(f"{base}/#/extensions/sample-fetcher")
        expect(page.get_by_role("table", name="Granted capabilities")).to_be_visible()
        shoot(page, out, "extensions")
        page.goto(f"{base}/#/artifacts?q=release")
        expect(page.get_by_role("link", name="release-notes")).to_be_visible()
        shoot(page, out, "artifacts")
        page.goto(f"{base}/#/pool")
        expect(page.get_by_role("table", name="Models in the pool")).to_be_visible()
        shoot(page, out, "pool")
        page.set_viewport_size({"width": 420, "height": 860})
        page.goto(f"{base}/#/runs/{run_id}")
        expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
        shoot(page, out, "run-narrow")
        browser.close()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "images" / "ui"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="symphony-ui-shots-") as scratch:
        root = Path(scratch)
        project = root / "project"
        project.mkdir()
        shutil.copy(ROOT / "examples" / "welcome.toml", project / "welcome.toml")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SYMPHONY_")}
        env |= {"SYMPHONY_DATA_DIR": str(root / "data"), "SYMPHONY_CACHE_DIR": str(root / "cache")}
        note = project / "release-notes.txt"
        note.write_text("Release notes: the console shows runs live.")
        subprocess.run(
            [SYMPHONY, "artifacts", "put", str(note), "--name", "release-notes"], env=env, cwd=root, check=True
        )
        process = subprocess.Popen(
            [SYMPHONY, "ui", "--no-open", "--project", str(project)], env=env, cwd=root, stdout=subprocess.PIPE
        )
        try:
            shoot_views(login_link(process, 120.0, SystemExit), out)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(60)


if __name__ == "__main__":
    main()
