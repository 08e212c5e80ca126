"""The console in a real headless Chromium (Playwright): what a user sees and does, against ``symphony ui``.

Each main view is screenshotted into ``$SYMPHONY_UI_SCREENSHOTS`` (else a temporary directory, named in the
test log) and checked not to be blank.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .conftest import DEADLINE, Console
from .test_ui_api import API, token_of

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("SYMPHONY_CHROMIUM", "/usr/bin/chromium"))
#: Playwright's waits, in ms: as generous as the console's start-up, the other core may be busy.
WAIT = DEADLINE * 1000
expect.set_options(timeout=WAIT)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the system's packages (Playwright's own download is not reachable)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set SYMPHONY_CHROMIUM)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the views' screenshots go: kept by CI as artifacts."""
    chosen = os.environ.get("SYMPHONY_UI_SCREENSHOTS")
    directory = Path(chosen) if chosen else tmp_path_factory.mktemp("ui-screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {directory}")
    return directory


def admin_page(browser: Browser, console: Console, width: int = 1280, height: int = 800) -> Page:
    """A page logged in through the printed one-time link (an admin session cookie)."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(WAIT)
    page.goto(console.login_link)
    expect(page.locator("#who")).to_contain_text("(admin)")
    return page


def token_page(browser: Browser, console: Console, role: str) -> Page:
    """A page sending a data service token of a new user of ``role``."""
    headers = {"Authorization": f"Bearer {token_of(console, role)}"}
    page = browser.new_context(viewport={"width": 1280, "height": 800}, extra_http_headers=headers).new_page()
    page.set_default_timeout(WAIT)
    page.goto(console.base_url + "/")
    expect(page.locator("#who")).to_contain_text(f"({role})")
    return page


def pixel_spread(page: Page, png: bytes) -> float:
    """The standard deviation of the screenshot's grey levels, decoded by the browser (0 for a blank image)."""
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    spread: float = page.evaluate(
        """async (url) => {
            const image = new Image();
            image.src = url;
            await image.decode();
            const canvas = new OffscreenCanvas(image.width, image.height);
            const context = canvas.getContext('2d');
            context.drawImage(image, 0, 0);
            const pixels = context.getImageData(0, 0, image.width, image.height).data;
            let sum = 0, squares = 0;
            const count = pixels.length / 4;
            for (let i = 0; i < pixels.length; i += 4) {
                const grey = (pixels[i] + pixels[i + 1] + pixels[i + 2]) / 3;
                sum += grey;
                squares += grey * grey;
            }
            const mean = sum / count;
            return Math.sqrt(squares / count - mean * mean);
        }""",
        url,
    )
    return spread


def snapshot(page: Page, directory: Path, name: str) -> Path:
    """Screenshot the page as ``name``.png and check it shows something."""
    path = directory / f"{name}.png"
    png = page.screenshot(path=str(path), full_page=False)
    assert pixel_spread(page, png) > 8, f"{path} is blank"
    return path


def test_an_edit_that_closes_a_cycle_shows_the_cycle_problem_on_the_workflow(
    browser: Browser, console: Console, screenshots: Path
) -> None:
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/workflows/welcome")
    problems = page.get_by_role("heading", name=re.compile(r"^Problems"))
    expect(problems).to_have_text("Problems (0)")
    expect(page.locator(".graph canvas").first).to_be_visible()
    snapshot(page, screenshots, "workflow")
    form = page.get_by_role("form", name="Connect nodes")
    form.get_by_label("Edge kind").select_option("control")
    form.get_by_label("From").fill("join")
    form.get_by_label("To").fill("parse")
    form.get_by_role("button", name="Connect").click()
    expect(page.locator(".problems li[data-code='cycle']")).to_contain_text("parse")
    expect(page.get_by_role("button", name=re.compile(r"^parse — .* — has a problem$"))).to_be_visible()
    snapshot(page, screenshots, "workflow-problem")


def test_a_started_run_shows_its_node_states_live_until_it_succeeds(
    browser: Browser, console: Console, screenshots: Path
) -> None:
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/workflows/gated")
    page.get_by_role("button", name="Start a run").click()
    expect(page).to_have_url(re.compile(r"#/runs/"))
    first = page.locator("[data-node='first']")
    expect(first).to_have_attribute("data-state", "running")  # the gate holds it: seen live, not after the fact
    expect(page.locator("[data-node='third']")).not_to_have_attribute("data-state", "succeeded")
    console.release()
    for node in ("first", "second", "third"):
        expect(page.locator(f"[data-node='{node}']")).to_have_attribute("data-state", "succeeded")
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
    expect(page.locator(".gantt-row")).to_have_count(3)
    first.click()
    expect(page.get_by_role("heading", name="Node first")).to_be_visible()
    snapshot(page, screenshots, "run")
    page.goto(console.base_url + "/#/runs")
    expect(page.get_by_role("table", name=re.compile(r"^Runs \(1\)"))).to_contain_text("succeeded")
    snapshot(page, screenshots, "runs")


def test_a_running_run_is_cancelled_with_its_button(browser: Browser, console: Console) -> None:
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/runs")
    page.get_by_role("form", name="Start a run").get_by_label("Workflow to run").select_option("gated")
    page.get_by_role("button", name="Start run").click()
    expect(page.locator("[data-node='first']")).to_have_attribute("data-state", "running")
    page.get_by_role("button", name="Cancel run").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
    expect(page.get_by_role("button", name="Resume run")).to_be_visible()


def test_a_run_started_from_the_runs_list_takes_json_inputs_and_refuses_text_that_is_not_json(
    browser: Browser, console: Console
) -> None:
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/runs")
    start = page.get_by_role("form", name="Start a run")
    start.get_by_label("Workflow to run").select_option("welcome")
    start.get_by_label("Inputs (JSON, optional)").fill("{user: Ada}")
    start.get_by_role("button", name="Start run").click()
    expect(page.get_by_role("alert")).to_contain_text("Inputs are not JSON")
    expect(page).to_have_url(re.compile(r"#/runs$"))
    user = json.dumps({"name": "Ada", "active": True, "plan": "pro"})
    start.get_by_label("Inputs (JSON, optional)").fill(json.dumps({"user": user}))
    start.get_by_role("button", name="Start run").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "succeeded")
    page.get_by_role("button", name="greet — succeeded").click()
    expect(page.locator(".details")).to_contain_text("Welcome, Ada!")


def test_an_admin_revokes_a_grant_after_confirming_and_a_viewer_is_refused(
    browser: Browser, console: Console, screenshots: Path
) -> None:
    admin = httpx.Client(base_url=console.base_url, headers={"Authorization": f"Bearer {token_of(console, 'admin')}"})
    granted = admin.post(f"{API}/extensions/sample-fetcher/grants", json={"capability": "network:api.example.org:443"})
    assert granted.status_code == 201, granted.text
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/extensions/sample-fetcher")
    revoke = page.get_by_role("button", name="Revoke network:api.example.org:443")
    expect(revoke).to_be_visible()
    page.goto(console.base_url + "/#/extensions")
    expect(page.get_by_role("table")).to_contain_text("network:api.example.org:443")
    snapshot(page, screenshots, "extensions")

    viewer = token_page(browser, console, "viewer")
    viewer.goto(console.base_url + "/#/extensions/sample-fetcher")
    expect(viewer.get_by_text("Your role (viewer) cannot grant or revoke capabilities.")).to_be_visible()
    expect(viewer.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(0)
    status = viewer.evaluate(
        "async (path) => (await fetch(path, {method: 'DELETE'})).status",
        f"{API}/extensions/sample-fetcher/grants/network:api.example.org:443",
    )
    assert status == 403

    page.goto(console.base_url + "/#/extensions/sample-fetcher")
    page.get_by_role("button", name="Revoke network:api.example.org:443").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(revoke).to_be_visible()  # cancelled in the dialog: still granted
    revoke.click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status").filter(has_text="Revoked network:api.example.org:443")).to_be_visible()
    expect(revoke).to_have_count(0)


def test_an_artifact_is_found_by_search_and_opened(browser: Browser, console: Console, screenshots: Path) -> None:
    report = console.project / "zebra.txt"
    report.write_text("the quarterly zebra census")
    assert console.home.run("artifacts", "put", str(report), "--name", "zebra-census").returncode == 0
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/artifacts")
    page.get_by_role("searchbox", name="Search").fill("zebra")
    page.get_by_role("button", name="Search").click()
    found = page.get_by_role("link", name="zebra-census")
    expect(found).to_be_visible()
    snapshot(page, screenshots, "artifacts")
    found.click()
    expect(page.get_by_role("heading", name="Artifact zebra-census")).to_be_visible()
    expect(page.locator("dd").filter(has_text="26 B")).to_be_visible()


def test_the_pool_view_lists_the_pool(browser: Browser, console: Console, screenshots: Path) -> None:
    page = admin_page(browser, console)
    page.goto(console.base_url + "/#/pool")
    expect(page.get_by_role("table", name="Models in the pool")).to_be_visible()
    snapshot(page, screenshots, "pool")


def test_on_a_narrow_window_the_graph_and_its_node_list_stack_and_the_list_is_keyboard_navigable(
    browser: Browser, console: Console, screenshots: Path
) -> None:
    page = admin_page(browser, console, width=420, height=800)
    page.goto(console.base_url + "/#/workflows/welcome")
    buttons = page.get_by_role("list", name="Nodes of the workflow").get_by_role("button")
    expect(buttons.first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 420  # nothing overflows sideways
    buttons.first.focus()
    page.keyboard.press("ArrowDown")
    second = buttons.nth(1)
    expect(second).to_be_focused()
    page.keyboard.press("Enter")
    node = second.get_attribute("data-node")
    expect(page.get_by_role("heading", name=f"Node {node}")).to_be_visible()
    snapshot(page, screenshots, "workflow-narrow")
