"""The web console in headless Chromium (issue 19), against a real ``symphony ui`` subprocess.

- ``ui_large_run``: time to first render of a finished 1,000-node run's view (the graph drawn and every node
  listed), from navigation start; baseline: the runs list view of the same app (one table), loaded the same way.
- ``ui_live``: a node event's latency from its publication on the bus (its envelope's time, the ``at`` the
  console sends) to the run view's DOM update, p50 and p95, over a chain run watched live from its start;
  baseline: the same events' arrival at a bare EventSource in the same page (SSE delivery alone). ``p95_shown``
  counts only the events published once the run view showed its nodes.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from playwright.sync_api import Page, sync_playwright

from benchmarks._console import login_link
from benchmarks._sites import SYMPHONY, clean_env, work_dir
from benchmarks.run import Record, record

__all__ = ["large_run", "live"]

CHROMIUM: Final = os.environ.get("SYMPHONY_CHROMIUM", "/usr/bin/chromium")
API: Final = "/ui/api/v1"
DEADLINE: Final = 300.0

#: Recorded in the page from its start: the first frame after the run view shows (every node listed, and in the
#: graph: its container's data-drawn is set once the last of its nodes and edges is added),
#: the DOM's node-state changes, and a bare EventSource's arrivals for the same run.
PROBE: Final = """
(() => {
  const expected = Number(new URLSearchParams(location.search).get('probe') || 0);
  window.__updates = [];
  window.__shownAt = null;
  window.__arrivals = [];
  const clock = () => performance.timeOrigin + performance.now();
  const check = () => {
    const listed = document.querySelectorAll('.node-button').length;
    const shown = expected ? listed >= expected && document.querySelector('.graph[data-drawn] canvas')
      : document.querySelector('caption')?.textContent.startsWith('Runs (');
    if (shown) requestAnimationFrame(() => { window.__rendered = performance.now(); });
    else requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
  new MutationObserver((changes) => {
    const at = clock();
    for (const change of changes) {
      if (change.target.classList?.contains('node-button')) {
        window.__updates.push([change.target.dataset.node, change.target.dataset.state, at]);
      }
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  window.addEventListener('hashchange', () => {
    const run = location.hash.match(/^#\\/runs\\/(.+)$/);
    if (!run || window.__bare) return;
    window.__bare = new EventSource(`/ui/api/v1/runs/${run[1]}/events`);
    const listed = () => {
      if (document.querySelector('.node-button')) window.__shownAt = clock();
      else requestAnimationFrame(listed);
    };
    requestAnimationFrame(listed);
    window.__bare.addEventListener('node', (event) => {
      const data = JSON.parse(event.data);
      window.__arrivals.push([data.node, data.state, data.at, clock()]);
    });
  });
})();
"""


def _tree(count: int) -> str:
    """A workflow of ``count`` text-template nodes, each fed by its parent in a binary tree (or a chain)."""
    lines = ["schema_version = 1", f'id = "n{count}"', f'name = "{count} nodes"', ""]
    for i in range(count):
        lines += [
            f"[nodes.n{i}]",
            'kind = "operator"',
            'uses = "text-template"',
            f'config = {{ template = "node {i}" }}',
            "",
        ]
    return "\n".join(lines)


def _edges(parents: Iterator[tuple[int, int]]) -> str:
    return "".join(f'[[edges]]\nkind = "data"\nfrom = "n{p}.text"\nto = "n{i}.values"\n\n' for p, i in parents)


@contextmanager
def _console(root: Path, workflows: dict[str, str]) -> Iterator[str]:
    """``symphony ui --no-open`` on a project holding ``workflows``; its login link."""
    project = root / "project"
    project.mkdir()
    for name, text in workflows.items():
        (project / f"{name}.toml").write_text(text)
    process = subprocess.Popen(
        [SYMPHONY, "ui", "--no-open", "--project", str(project)],
        cwd=root,
        env=clean_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield login_link(process, DEADLINE)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _finished(page: Page, run_id: str) -> dict[str, Any]:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        shown: dict[str, Any] = page.request.get(f"{API}/runs/{run_id}").json()
        if shown["run"]["status"] in ("succeeded", "failed", "cancelled"):
            if shown["run"]["status"] != "succeeded":
                raise RuntimeError(f"run {run_id} {shown['run']['status']}: {shown['run']['error']}")
            return shown
        time.sleep(0.2)
    raise RuntimeError(f"run {run_id} did not finish in {DEADLINE} s")


def _first_render_ms(page: Page, base: str, route: str, nodes: int) -> float:
    """A whole load of ``route`` from a blank page (the probe told by ``?probe=`` how many nodes to wait for)."""
    page.goto("about:blank")
    page.goto(f"{base}/?probe={nodes}#{route}")
    rendered: float = page.wait_for_function("window.__rendered", timeout=DEADLINE * 1000).json_value()
    return rendered


def _large_run(page: Page, base: str, repeat: int) -> list[Record]:
    run_id = page.request.post(f"{API}/runs", data={"workflow": "n1000"}).json()["run_id"]
    _finished(page, run_id)
    run_ms, list_ms = [], []
    for _ in range(repeat):  # interleaved, so a busy moment of the machine weighs on both
        run_ms.append(_first_render_ms(page, base, f"/runs/{run_id}", 1000))
        list_ms.append(_first_render_ms(page, base, "/runs", 0))
    return [
        record(
            "ui_large_run.first_render@1000",
            statistics.median(run_ms),
            "ms",
            "the runs list view (one table) of the same app",
            statistics.median(list_ms),
            goal="<= 1000 ms",
        )
    ]


def _live(page: Page, base: str, workflow: str) -> list[Record]:
    page.goto(f"{base}/#/runs")
    page.get_by_label("Workflow to run").select_option(workflow)
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url("**/#/runs/*")
    run_id = page.url.rsplit("/", 1)[1]
    _finished(page, run_id)
    page.wait_for_function("document.querySelector('#run-status')?.dataset.status === 'succeeded'")
    updates = {(node, state): at for node, state, at in page.evaluate("window.__updates")}
    arrivals = page.evaluate("window.__arrivals")
    shown_at: float = page.evaluate("window.__shownAt")
    dom, sse, live = [], [], []
    for node, state, stamped, arrived in arrivals:
        at = _epoch_ms(stamped)
        if (node, state) in updates:
            dom.append(updates[node, state] - at)
            sse.append(arrived - at)
            if at >= shown_at:
                live.append(updates[node, state] - at)
    if len(dom) < 20:
        raise RuntimeError(f"only {len(dom)} node events were seen live; {json.dumps(arrivals[:5])}")
    baseline = f"the same events' arrival at a second, bare EventSource in the page (SSE delivery alone), n={len(sse)}"
    records = [
        record("ui_live.p50", statistics.median(dom), "ms", baseline, statistics.median(sse)),
        record("ui_live.p95", p95(dom), "ms", baseline, p95(sse), goal="<= 100 ms"),
    ]
    # The events published once the run view was showing (its node list in the page): the view watched live,
    # without those that happened while the page was still fetching and drawing the run. A fast run can be
    # (nearly) over by then; with fewer than two such events there is no percentile to give.
    if len(live) < 2:
        print(f"ui_live.p95_shown: only {len(live)} of {len(dom)} events came after the view showed", file=sys.stderr)
        return records
    records.append(
        record(
            "ui_live.p95_shown",
            p95(live),
            "ms",
            f"all the run's events (ui_live.p95), n={len(live)} of {len(dom)}",
            p95(dom),
            goal="<= 100 ms",
        )
    )
    return records


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _epoch_ms(stamped: str) -> float:
    return datetime.fromisoformat(stamped).timestamp() * 1e3


def _measured(quick: bool, live: bool) -> list[Record]:
    chain = 300 if quick else 1000
    workflow = _tree(chain) + _edges((i - 1, i) for i in range(1, chain)) if live else None
    workflows = (
        {f"n{chain}": workflow}
        if workflow
        else {"n1000": _tree(1000) + _edges(((i - 1) // 2, i) for i in range(1, 1000))}
    )
    with work_dir() as root, _console(root, workflows) as link, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            base = link.partition("/?login=")[0]
            page = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base).new_page()
            page.set_default_timeout(DEADLINE * 1000)
            page.add_init_script(PROBE)
            page.goto(link)
            return _live(page, base, f"n{chain}") if live else _large_run(page, base, 3 if quick else 10)
        finally:
            browser.close()


def large_run(quick: bool) -> list[Record]:
    return _measured(quick, live=False)


def live(quick: bool) -> list[Record]:
    return _measured(quick, live=True)
