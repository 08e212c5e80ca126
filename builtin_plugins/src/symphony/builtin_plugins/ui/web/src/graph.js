// A workflow, run or lineage graph drawn by Cytoscape; the node list beside it is its keyboard alternative.
import cytoscape from 'cytoscape';
import { h } from './dom.js';
import { layered, refine } from './layout.js';

export const STATE_COLOURS = {
  pending: '#d0d4da', queued: '#b9c6e0', ready: '#b9c6e0', waiting: '#f2c14e', running: '#3b82f6',
  succeeded: '#2f9e44', cached: '#7c5cc4', skipped: '#9aa1ab', failed: '#d6336c', cancelled: '#6b7280',
};

/** The graphs' style; `large`: straight edges, a third of a 1,000-node first render cheaper than bezier curves. */
const style = (large) => [
  { selector: 'node', style: {
    shape: 'round-rectangle', width: 140, height: 36, label: 'data(label)', 'font-size': 11,
    'text-valign': 'center', 'text-halign': 'center', 'text-wrap': 'ellipsis', 'text-max-width': 130,
    'min-zoomed-font-size': 7,  // labels too small to read are not drawn (a 1,000-node graph zoomed out)
    // A node's colours are its data (see stateData): one selector for all states, not one each to match.
    'background-color': 'data(fill)', 'border-width': 1, 'border-color': '#6b7280', color: 'data(ink)' } },
  { selector: 'edge', style: {
    width: 1.5, 'curve-style': large ? 'straight' : 'bezier', 'target-arrow-shape': 'triangle', 'line-color': '#9aa1ab', 'target-arrow-color': '#9aa1ab' } },
  { selector: 'node.problem', style: { 'border-width': 4, 'border-color': '#c92a2a', 'border-style': 'dashed' } },
  { selector: 'edge.problem', style: { width: 4, 'line-color': '#c92a2a', 'target-arrow-color': '#c92a2a', 'line-style': 'dashed' } },
  { selector: ':selected', style: { 'overlay-color': '#f59f00', 'overlay-opacity': 0.35, 'overlay-padding': 6 } },
];

const LIGHT_INK = new Set(['running', 'succeeded', 'failed', 'cached', 'cancelled']);

/** A graph node's data for `state`: the state and the colours it is drawn in. */
export function stateData(state) {
  return { state: state ?? '', fill: STATE_COLOURS[state] ?? '#e9ecf1', ink: LIGHT_INK.has(state) ? '#fff' : '#111827' };
}

/** Nodes added to a graph per task: a large graph is built over several tasks, so events are not held back. */
const CHUNK = 100;

const nodeElement = (n, positions) => ({
  data: { id: n.id, label: n.label ?? n.id, ...stateData(n.state) }, position: positions[n.id], classes: n.problem ? 'problem' : '',
});
const edgeElement = (e) => ({
  data: { id: `edge:${e.id ?? `${e.source}->${e.target}`}`, source: e.source, target: e.target }, classes: e.problem ? 'problem' : '',
});

/**
 * Draw `nodes` ({id, label, state?, problem?}) and `edges` ({id, source, target, problem?}) in `container`;
 * `onSelect(id)` when a node is tapped.  Positions come first from a linear layering, then from ELK.
 *
 * A graph of more than CHUNK nodes is built a chunk at a time, one task each (a node's state is read when it
 * is added, so callers may keep updating the node objects meanwhile); the container's `data-drawn` attribute
 * is set once every node and edge is in.  `refine: false` keeps the first positions (no ELK: its seconds of CPU
 * for a large graph would compete with a live run's updates).
 */
export function drawGraph(container, nodes, edges, onSelect, { refine: layOut = true } = {}) {
  const known = new Set(nodes.map((n) => n.id));
  const drawn = edges.filter((e) => known.has(e.source) && known.has(e.target));
  const positions = layered(nodes, drawn);
  delete container.dataset.drawn;
  const first = nodes.slice(0, CHUNK);
  const added = new Set(first.map((n) => n.id));
  const cy = cytoscape({
    container,
    style: style(nodes.length > 300),
    layout: { name: 'preset', fit: false },
    minZoom: 0.05,
    maxZoom: 3,
    wheelSensitivity: 0.3,
    // Large graphs: cheaper frames while panning and zooming.
    textureOnViewport: nodes.length > 300,
    hideEdgesOnViewport: nodes.length > 300,
    elements: {
      nodes: first.map((n) => nodeElement(n, positions)),
      edges: drawn.filter((e) => added.has(e.source) && added.has(e.target)).map(edgeElement),
    },
  });
  fit(cy, positions);
  if (!container.isConnected) {  // drawn before its view is shown: size it once it is
    requestAnimationFrame(() => {
      if (cy.destroyed()) return;
      cy.resize();
      fit(cy, positions);
    });
  }
  cy.on('tap', 'node', (event) => onSelect?.(event.target.id()));
  const finish = () => {
    container.dataset.drawn = String(nodes.length);
    if (!layOut) return;
    // ELK after the first frame is drawn: its worker's start-up competes for the CPU the first render needs.
    requestAnimationFrame(() => setTimeout(() => refine(nodes, drawn).then((refined) => {
      if (!refined || cy.destroyed()) return;
      cy.batch(() => cy.nodes().forEach((node) => { if (refined[node.id()]) node.position(refined[node.id()]); }));
      fit(cy, refined);
    }), 0));
  };
  let at = first.length;
  const addChunk = () => {
    if (cy.destroyed()) return;
    const chunk = nodes.slice(at, at + CHUNK);
    at += chunk.length;
    for (const n of chunk) added.add(n.id);
    const ends = new Set(chunk.map((n) => n.id));
    cy.add([
      ...chunk.map((n) => nodeElement(n, positions)),
      // An edge goes in with the later of its two ends.
      ...drawn.filter((e) => (ends.has(e.source) || ends.has(e.target)) && added.has(e.source) && added.has(e.target)).map(edgeElement),
    ]);
    if (at < nodes.length) setTimeout(addChunk, 0);
    else finish();
  };
  if (at < nodes.length) setTimeout(addChunk, 0);
  else finish();
  return cy;
}

/**
 * Fit the viewport to the nodes' positions: cy.fit() would measure every label for its bounding box first,
 * most of a 1,000-node graph's first render.
 */
function fit(cy, positions, padding = 20) {
  const points = Object.values(positions);
  if (!points.length || !cy.width()) return;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x1, x2, y1, y2] = [Math.min(...xs) - 70, Math.max(...xs) + 70, Math.min(...ys) - 18, Math.max(...ys) + 18];
  const zoom = Math.min(cy.maxZoom(), Math.max(cy.minZoom(), Math.min((cy.width() - 2 * padding) / (x2 - x1), (cy.height() - 2 * padding) / (y2 - y1))));
  cy.viewport({ zoom, pan: { x: (cy.width() - zoom * (x1 + x2)) / 2, y: (cy.height() - zoom * (y1 + y2)) / 2 } });
}

/** Select and centre node `id` in `cy` (from the list, the problems or a tap). */
export function focusNode(cy, id) {
  const node = cy.getElementById(id);
  if (node.empty()) return;
  cy.$(':selected').unselect();
  node.select();
  const { x1, x2, y1, y2 } = cy.extent();
  const { x, y } = node.position();
  if (x < x1 || x > x2 || y < y1 || y > y2) cy.animate({ center: { eles: node } }, { duration: 150 });  // only when out of view
}

/**
 * The graph's keyboard alternative: one button per node, arrow keys move between them.
 * `describe(node)` is the button's text; the button carries data-node and data-state.
 */
export function nodeList(label, nodes, describe, onSelect) {
  const list = h('ul', { class: 'node-list', 'aria-label': label });
  for (const node of nodes) {
    list.append(h('li', {}, h('button', {
      type: 'button', class: 'node-button', dataset: { node: node.id, state: node.state ?? '' },
      'aria-describedby': node.problem ? 'problems-heading' : undefined,
      onclick: () => onSelect(node.id),
    }, describe(node))));
  }
  list.addEventListener('keydown', (event) => {
    if (!['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(event.key)) return;
    const buttons = [...list.querySelectorAll('button')];
    const at = buttons.indexOf(document.activeElement);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[event.key];
    buttons[Math.max(0, Math.min(buttons.length - 1, to))]?.focus();
    event.preventDefault();
  });
  return list;
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${state || 'pending'}` }, state || 'pending');
}
