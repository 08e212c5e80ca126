// One run, live: node states from the server's event stream colour the graph, the list and the timeline.
import { api, BASE, segment } from '../api.js';
import { announce, errorBox, h, replace, seconds, when } from '../dom.js';
import { drawGraph, focusNode, nodeList, stateBadge } from '../graph.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);
const NODE_DONE = new Set(['succeeded', 'failed', 'cancelled', 'cached', 'skipped']);

const time = (iso) => (iso ? Date.parse(iso) : null);

export async function runView(main, me, runId) {
  let doc = await api(`/runs/${segment(runId)}`);
  let cy = null;
  let source = null;
  let selected = null;
  const nodes = new Map();
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

  function showGantt() {
    const rows = [...nodes.values()].filter((n) => n.started_at || n.queued_at);
    const now = Date.now();
    const start = Math.min(...rows.map((n) => time(n.queued_at) ?? time(n.started_at)), time(doc.run.started_at) ?? now);
    const end = Math.max(...rows.map((n) => time(n.finished_at) ?? now), start + 1);
    const pct = (t) => `${(((t - start) / (end - start)) * 100).toFixed(2)}%`;
    const width = (a, b) => `${Math.max(0.3, ((b - a) / (end - start)) * 100).toFixed(2)}%`;
    replace(gantt,
      h('h2', { id: 'gantt-heading' }, 'Timeline'),
      h('p', { class: 'legend' }, h('span', { class: 'bar wait' }), ' queue wait ', h('span', { class: 'bar work' }), ' run time'),
      rows.length ? h('ol', { class: 'gantt-rows' }, rows.map((n) => {
        const queued = time(n.queued_at) ?? time(n.started_at);
        const started = time(n.started_at);
        const finished = time(n.finished_at) ?? now;
        const text = `${n.id}: waited ${started ? ((started - queued) / 1000).toFixed(2) : '?'} s, ran ${started ? ((finished - started) / 1000).toFixed(2) : '?'} s`;
        return h('li', { class: 'gantt-row' },
          h('span', { class: 'gantt-label' }, n.id),
          h('span', { class: 'gantt-track', role: 'img', 'aria-label': text, title: text },
            started && started > queued ? h('span', { class: 'bar wait', style: `left:${pct(queued)};width:${width(queued, started)}` }) : null,
            started ? h('span', { class: `bar work state-${n.state}`, style: `left:${pct(started)};width:${width(started, finished)}` }) : null));
      })) : h('p', {}, 'No node has started yet.'));
  }

  function render() {
    load();
    const list = [...nodes.values()].map((n) => ({ ...n, label: n.id }));
    cy?.destroy();
    cy = drawGraph(graphBox, list, doc.graph.edges, select);
    replace(listBox, h('h2', {}, 'Nodes'), nodeList('Nodes of the run', list, (n) => `${n.id} — ${n.state}`, select));
    showHeader();
    showDetails();
    requestAnimationFrame(showGantt);  // after the graph and the list: a 1,000-row timeline can wait a frame
  }

  async function refresh() {
    doc = await api(`/runs/${segment(runId)}`);
    render();
    if (!FINAL.has(doc.run.status)) listen();
  }

  let timelineQueued = false;
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
    const button = listBox.querySelector(`[data-node="${CSS.escape(event.node)}"]`);
    if (button) {
      button.dataset.state = event.state;
      button.textContent = `${event.node} — ${event.state}`;
    }
    cy?.getElementById(event.node).data('state', event.state);
    if (selected === event.node) showDetails();
    if (!timelineQueued) {  // the timeline redraws at most once a frame, however many events arrive
      timelineQueued = true;
      requestAnimationFrame(() => { timelineQueued = false; showGantt(); });
    }
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
  render();
  if (!FINAL.has(doc.run.status)) listen();
  return () => {
    source?.close();
    cy?.destroy();
  };
}
