// Workflows: the project's list, and one workflow's graph, node details, problems and edits.
import { api, segment } from '../api.js';
import { announce, errorBox, field, h, replace, table } from '../dom.js';
import { drawGraph, focusNode, nodeList } from '../graph.js';
import { startRun } from './runs.js';

export async function workflowsView(main, me) {
  const workflows = await api('/workflows');
  replace(main,
    h('h1', {}, 'Workflows'),
    table('Workflows in the project', [
      ['Workflow', (w) => h('a', { href: `#/workflows/${segment(w.id)}` }, w.name || w.id)],
      ['File', (w) => w.path],
      ['Nodes', (w) => w.nodes],
      ['Problems', (w) => (w.problems ? h('span', { class: 'bad' }, w.problems) : '0')],
      ['', (w) => (me.can.includes('runs.start') ? h('button', { type: 'button', onclick: () => startRun(w.id) }, `Run ${w.id}`) : null)],
    ], workflows));
}

function describe(node, problems) {
  const flagged = problems.some((p) => p.nodes.includes(node.id));
  return `${node.id} — ${node.contribution}${flagged ? ' — has a problem' : ''}`;
}

export async function workflowView(main, me, id) {
  let doc = await api(`/workflows/${segment(id)}`);
  let selected = null;
  let cy = null;
  const graphBox = h('div', { class: 'graph', role: 'img', 'aria-label': 'Workflow graph; the node list is its keyboard alternative' });
  const listBox = h('div', { class: 'side-list' });
  const details = h('section', { class: 'details', 'aria-labelledby': 'details-heading' });
  const problemsBox = h('section', { 'aria-labelledby': 'problems-heading' });
  const editsBox = h('section', { 'aria-labelledby': 'edits-heading' });
  const message = h('div', { 'aria-live': 'polite' });

  const select = (nodeId) => {
    selected = nodeId;
    if (cy) focusNode(cy, nodeId);
    showDetails();
  };

  function showDetails() {
    const node = doc.graph.nodes.find((n) => n.id === selected);
    if (!node) {
      replace(details, h('h2', { id: 'details-heading' }, 'Node'), h('p', {}, 'Select a node in the graph or the list.'));
      return;
    }
    const ports = (ports) => (Object.keys(ports).length
      ? h('ul', {}, Object.entries(ports).map(([name, type]) => h('li', {}, h('code', {}, name), `: ${type}`)))
      : h('p', {}, 'None declared.'));
    replace(details,
      h('h2', { id: 'details-heading' }, `Node ${node.id}`),
      h('dl', {},
        h('dt', {}, 'Kind'), h('dd', {}, node.kind),
        h('dt', {}, 'Contribution'), h('dd', {}, h('code', {}, node.contribution))),
      h('h3', {}, 'Inputs'), ports(node.inputs),
      h('h3', {}, 'Outputs'), ports(node.outputs),
      h('h3', {}, 'Configuration'), h('pre', {}, JSON.stringify(node.config ?? {}, null, 2)),
      me.can.includes('workflows.edit')
        ? h('button', { type: 'button', class: 'danger', onclick: () => edit({ op: 'remove_node', id: node.id }) }, `Remove node ${node.id}`)
        : null);
  }

  function render() {
    const problemNodes = new Set(doc.problems.flatMap((p) => p.nodes));
    const problemEdges = new Set(doc.problems.flatMap((p) => p.edges));
    const nodes = doc.graph.nodes.map((n) => ({ ...n, label: n.id, problem: problemNodes.has(n.id) }));
    const edges = doc.graph.edges.map((e) => ({ ...e, problem: problemEdges.has(e.id) }));
    cy?.destroy();
    cy = drawGraph(graphBox, nodes, edges, select);
    replace(listBox, h('h2', {}, 'Nodes'), nodeList('Nodes of the workflow', nodes, (n) => describe(n, doc.problems), select));
    replace(problemsBox,
      h('h2', { id: 'problems-heading' }, `Problems (${doc.problems.length})`),
      doc.problems.length
        ? h('ul', { class: 'problems' }, doc.problems.map((p) => h('li', { class: `severity-${p.severity}`, dataset: { code: p.code } },
          h('strong', {}, p.code), ' ', p.message,
          p.nodes.map((n) => [' ', h('button', { type: 'button', class: 'link', onclick: () => select(n) }, `show ${n}`)]))))
        : h('p', {}, 'No problems: the workflow is valid.'));
    renderEdits();
    if (selected && !doc.graph.nodes.some((n) => n.id === selected)) selected = null;
    showDetails();
  }

  async function edit(body) {
    try {
      doc = await api(`/workflows/${segment(id)}/edits`, { method: 'POST', body });
      replace(message);
      render();
      announce(`Edit applied; ${doc.problems.length} problem(s).`);
    } catch (error) {
      replace(message, errorBox(error));
    }
  }

  function renderEdits() {
    if (!me.can.includes('workflows.edit')) {
      replace(editsBox, h('h2', { id: 'edits-heading' }, 'Edit'), h('p', {}, `Your role (${me.role}) cannot edit workflows.`));
      return;
    }
    const ids = doc.graph.nodes.map((n) => n.id);
    const nodeOptions = h('datalist', { id: 'node-ids' }, ids.map((n) => h('option', { value: n })));
    const addId = h('input', { name: 'id', required: true, autocomplete: 'off' });
    const addKind = h('select', { name: 'kind' }, ['operator', 'instrument'].map((k) => h('option', {}, k)));
    const addUses = h('input', { name: 'uses', required: true, autocomplete: 'off' });
    const from = h('input', { name: 'from', required: true, list: 'node-ids', autocomplete: 'off', placeholder: 'node or node.port' });
    const to = h('input', { name: 'to', required: true, list: 'node-ids', autocomplete: 'off', placeholder: 'node or node.port' });
    const edgeKind = h('select', { name: 'edge-kind' }, ['data', 'control'].map((k) => h('option', {}, k)));
    const edgeChoice = h('select', { name: 'edge' }, doc.graph.edges.map((e) => h('option', { value: e.id }, e.id)));
    replace(editsBox,
      h('h2', { id: 'edits-heading' }, 'Edit'),
      nodeOptions,
      h('form', { 'aria-label': 'Add a node', onsubmit: (event) => {
        event.preventDefault();
        edit({ op: 'add_node', id: addId.value.trim(), node: { kind: addKind.value, uses: addUses.value.trim() } });
      } }, h('h3', {}, 'Add a node'), field('Id', addId), field('Kind', addKind), field('Uses', addUses), h('button', {}, 'Add node')),
      h('form', { 'aria-label': 'Connect nodes', onsubmit: (event) => {
        event.preventDefault();
        edit({ op: 'connect', edge: { kind: edgeKind.value, from: from.value.trim(), to: to.value.trim() } });
      } }, h('h3', {}, 'Connect'), field('Edge kind', edgeKind), field('From', from), field('To', to), h('button', {}, 'Connect')),
      doc.graph.edges.length ? h('form', { 'aria-label': 'Disconnect an edge', onsubmit: (event) => {
        event.preventDefault();
        edit({ op: 'disconnect', edge: edgeChoice.value });
      } }, h('h3', {}, 'Disconnect'), field('Edge', edgeChoice), h('button', {}, 'Disconnect')) : null);
  }

  replace(main,
    h('h1', {}, `Workflow ${doc.name || doc.id}`),
    h('p', { class: 'muted' }, doc.path, ' ',
      me.can.includes('runs.start') ? h('button', { type: 'button', onclick: () => startRun(id) }, 'Start a run') : null),
    message,
    h('div', { class: 'split' }, graphBox, listBox),
    h('div', { class: 'panels' }, problemsBox, details, editsBox));
  render();
  return () => cy?.destroy();
}
