// One run, live: node states from the server's event stream colour the graph, the list and the timeline.
import { api, BASE, segment } from '../api.js';
import { announce, errorBox, h, replace, seconds, when } from '../dom.js';
import { drawGraph, focusNode, nodeList, stateBadge, stateData } from '../graph.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const NODE_DONE = new Set(['succeeded', 'failed', 'cancelled', 'cached', 'skipped']);

const time = (iso) => (iso ? Date.parse(iso) : null);
/** Milliseconds between timeline redraws while a run is live: each redraws every row, so not every frame. */
const TIMELINE_EVERY = 500;
/** Milliseconds a graph recolouring waits for more events to draw with it: a large canvas redraw costs frames. */
const RECOLOUR_EVERY = 250;
/** Nodes of a live run's graph that ELK lays out at most while it runs. */
const LIVE_LAYOUT_MAX = 300;
/** Timeline rows built per slice of idle time, so that building 1,000 of them never holds an event back. */
const ROWS_PER_SLICE = 50;
const idle = (callback) => (window.requestIdleCallback
  ? requestIdleCallback(callback, { timeout: 1000 }) : setTimeout(() => callback({ timeRemaining: () => 8 }), 16));

export async function runView(main, me, runId) {
  let doc = await api(`/runs/${segment(runId)}`);
  let cy = null;
  let source = null;
  let selected = null;
  const nodes = new Map();
  const buttons = new Map();  // node id → its list button, updated as events come
  const graphBox = h('div', { class: 'graph', role: 'img', 'aria-label': 'Run graph coloured by node state; the node list is its keyboard alternative' });
  const listBox = h('div', { class: 'side-list' });
  const header = h('div', { class: 'run-header' });
  const details = h('section', { class: 'details', 'aria-labelledby': 'details-heading' });
  const gantt = h('section', { class: 'gantt', 'aria-labelledby': 'gantt-heading' });
  const message = h('div', { 'aria-live': 'polite' });

  const select = (id) => {
    selected = id;
    if (cy) focusNode(cy, id);
    showDetails();
  };

  function load() {
    nodes.clear();
    for (const node of doc.nodes) nodes.set(node.id, { ...node });
  }

  function showHeader() {
    const run = doc.run;
    const action = (label, can, path, body) => (me.can.includes(can)
      ? h('button', { type: 'button', onclick: () => act(path, body, label) }, label) : null);
    const running = run.status === 'running';
    replace(header,
      h('p', {}, 'Status ', h('span', { id: 'run-status', dataset: { status: run.status } }, stateBadge(run.status)),
        ` · workflow ${run.workflow} · started ${when(run.started_at)} · ${seconds(run.duration_s)}`,
        run.error ? h('span', { class: 'bad' }, ` · ${run.error}`) : null),
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Run actions' },
        running ? action('Cancel run', 'runs.cancel', 'cancel') : null,
        !running && run.status !== 'succeeded' ? action('Resume run', 'runs.resume', 'resume') : null,
        !running && selected ? action(`Retry from ${selected}`, 'runs.retry', 'retry', { node: selected }) : null));
  }

  async function act(path, body, label) {
    try {
      const answer = await api(`/runs/${segment(runId)}/${path}`, { method: 'POST', body });
      announce(`${label}: requested.`);
      if (answer?.run_id && answer.run_id !== runId) location.hash = `#/runs/${segment(answer.run_id)}`;
      else await refresh();
    } catch (error) {
      replace(message, errorBox(error));
    }
  }

  function showDetails() {
    const node = nodes.get(selected);
    if (!node) {
      replace(details, h('h2', { id: 'details-heading' }, 'Node'), h('p', {}, 'Select a node in the graph or the list.'));
      return;
    }
    const show = (value) => (value === undefined || value === null ? '—' : h('pre', {}, JSON.stringify(value, null, 2)));
    replace(details,
      h('h2', { id: 'details-heading' }, `Node ${node.id}`),
      h('dl', {},
        h('dt', {}, 'State'), h('dd', {}, stateBadge(node.state)),
        h('dt', {}, 'Waiting because'), h('dd', {}, node.waiting_reason || '—'),
        h('dt', {}, 'Attempts'), h('dd', {}, node.attempts ?? '—'),
        h('dt', {}, 'Retries'), h('dd', {}, node.retries ?? '—'),
        h('dt', {}, 'Cache hit'), h('dd', {}, node.cache_hit ? 'yes' : 'no'),
        h('dt', {}, 'Queue wait'), h('dd', {}, seconds(node.queue_wait_s)),
        h('dt', {}, 'Run time'), h('dd', {}, seconds(node.run_time_s)),
        h('dt', {}, 'Error'), h('dd', {}, node.error || '—')),
      h('h3', {}, 'Inputs'), show(node.inputs),
      h('h3', {}, 'Outputs'), show(node.outputs),
      h('h3', {}, 'Logs'), node.logs?.length ? h('pre', {}, node.logs.join('\n')) : h('p', {}, 'None recorded.'));
    showHeader();
  }

  // The timeline is not needed for the first paint nor for a node's state to show: it is built in idle time, a
  // slice of rows at a time, and swapped in whole; one build at a time, another after it if events came meanwhile.
  let timeline = null;  // the build under way: {rows, done: its rows built so far}
  let timelineDirty = false;
  let timelineAt = 0;
  function scheduleTimeline() {
    if (timeline) { timelineDirty = true; return; }
    const wait = Math.max(0, timelineAt + TIMELINE_EVERY - performance.now());
    timeline = { rows: null, done: [] };
    const build = timeline;
    setTimeout(() => idle(function slice(deadline) {
      if (timeline !== build) return;  // the view was redrawn: a new build replaced this one
      build.rows ??= timelineRows();
      do {
        build.done.push(...build.rows.items.slice(build.done.length, build.done.length + ROWS_PER_SLICE).map(build.rows.row));
      } while (build.done.length < build.rows.items.length && deadline.timeRemaining() > 4);
      if (build.done.length < build.rows.items.length) { idle(slice); return; }
      showGantt(build.rows, build.done);
      timeline = null;
      timelineAt = performance.now();
      if (timelineDirty) { timelineDirty = false; scheduleTimeline(); }
    }), wait);
  }

  function timelineRows() {
    const rows = [...nodes.values()].filter((n) => n.started_at || n.queued_at).map((n) => ({ ...n }));
    const now = Date.now();
    const start = Math.min(...rows.map((n) => time(n.queued_at) ?? time(n.started_at)), time(doc.run.started_at) ?? now);
    const end = Math.max(...rows.map((n) => time(n.finished_at) ?? now), start + 1);
    const pct = (t) => `${(((t - start) / (end - start)) * 100).toFixed(2)}%`;
    const width = (a, b) => `${Math.max(0.3, ((b - a) / (end - start)) * 100).toFixed(2)}%`;
    return { items: rows, row: (n) => {
      const queued = time(n.queued_at) ?? time(n.started_at);
      const started = time(n.started_at);
      const finished = time(n.finished_at) ?? now;
      const text = `${n.id}: waited ${started ? ((started - queued) / 1000).toFixed(2) : '?'} s, ran ${started ? ((finished - started) / 1000).toFixed(2) : '?'} s`;
      return h('li', { class: 'gantt-row' },
        h('span', { class: 'gantt-label' }, n.id),
        h('span', { class: 'gantt-track', role: 'img', 'aria-label': text, title: text },
          started && started > queued ? h('span', { class: 'bar wait', style: `left:${pct(queued)};width:${width(queued, started)}` }) : null,
          started ? h('span', { class: `bar work state-${n.state}`, style: `left:${pct(started)};width:${width(started, finished)}` }) : null));
    } };
  }

  function showGantt(rows, built) {
    replace(gantt,
      h('h2', { id: 'gantt-heading' }, 'Timeline'),
      h('p', { class: 'legend' }, h('span', { class: 'bar wait' }), ' queue wait ', h('span', { class: 'bar work' }), ' run time'),
      rows?.items.length ? h('ol', { class: 'gantt-rows' }, built) : h('p', {}, rows ? 'No node has started yet.' : 'Drawing…'));
  }

  function render() {
    load();
    const list = [...nodes.values()];  // the live objects: a large graph reads their states as it is built
    const listed = nodeList('Nodes of the run', list, (n) => `${n.id} — ${n.state}`, select);
    buttons.clear();
    for (const button of listed.querySelectorAll('button')) buttons.set(button.dataset.node, button);
    replace(listBox, h('h2', {}, 'Nodes'), listed);
    cy?.destroy();
    // A large run watched live is laid out by ELK once it ends (the view is drawn again then), not meanwhile.
    cy = drawGraph(graphBox, list, doc.graph.edges, select, { refine: FINAL.has(doc.run.status) || list.length <= LIVE_LAYOUT_MAX });
    showHeader();
    showDetails();
    timeline = null;  // a build under way drew the former document
    if (!gantt.firstChild) showGantt(null, []);
    scheduleTimeline();
  }

  async function refresh() {
    doc = await api(`/runs/${segment(runId)}`);
    render();
    if (!FINAL.has(doc.run.status)) listen();
  }

  // The graph's colours change in one batch for the events of a moment: each change redraws the whole canvas.
  const recoloured = new Map();
  function recolour(id, state) {
    if (!recoloured.size) {
      setTimeout(() => requestAnimationFrame(() => {
        if (cy && !cy.destroyed()) cy.batch(() => { for (const [node, colour] of recoloured) cy.getElementById(node).data(stateData(colour)); });
        recoloured.clear();
      }), RECOLOUR_EVERY);
    }
    recoloured.set(id, state);
  }

  function onNode(event) {
    const node = nodes.get(event.node);
    if (!node) return;
    node.state = event.state;
    if (event.state === 'running') node.started_at = event.at;
    else if (NODE_DONE.has(event.state)) node.finished_at = event.at;
    else node.queued_at ??= event.at;
    if (event.attempt !== undefined) node.attempts = event.attempt;
    if (event.cache_hit) node.cache_hit = true;
    node.waiting_reason = event.waiting_reason ?? null;
    const button = buttons.get(event.node);
    if (button) {
      button.dataset.state = event.state;
      button.textContent = `${event.node} — ${event.state}`;
    }
    recolour(event.node, event.state);
    if (selected === event.node) showDetails();
    scheduleTimeline();
  }

  function listen() {
    if (source) return;
    source = new EventSource(`${BASE}/runs/${segment(runId)}/events`);
    source.addEventListener('node', (event) => onNode(JSON.parse(event.data)));
    // Events between the page's fetch and the stream's start are not replayed: catch up on nodes that ended.
    source.addEventListener('open', async () => {
      const now = await api(`/runs/${segment(runId)}`).catch(() => null);
      for (const node of now?.nodes ?? []) {
        if (NODE_DONE.has(node.state) && nodes.get(node.id)?.state !== node.state) {
          onNode({ node: node.id, state: node.state, at: node.finished_at, attempt: node.attempts, cache_hit: node.cache_hit });
        }
      }
    }, { once: true });
    source.addEventListener('resync', () => refresh());
    source.addEventListener('run', (event) => {
      const data = JSON.parse(event.data);
      if (!FINAL.has(data.status)) return;
      source.close();
      source = null;
      announce(`Run ${data.status}.`);
      refresh();
    });
  }

  replace(main, h('h1', {}, `Run ${runId}`), header, message,
    h('div', { class: 'split' }, graphBox, listBox),
    h('div', { class: 'panels' }, details, gantt));
  // The stream first: it connects while the view draws, and its events are handled once the drawing task ends.
  if (!FINAL.has(doc.run.status)) listen();
  render();
  return () => {
    source?.close();
    cy?.destroy();
  };
}
