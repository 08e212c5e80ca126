// Positions for a first render in linear time: nodes in columns by their longest path from an entry node.
// ELK's layered layout then refines them in a worker (1,000 nodes take it seconds; the page must not wait).

export const COLUMN = 200;
export const ROW = 56;

export function layered(nodes, edges) {
  const incoming = new Map(nodes.map((n) => [n.id, 0]));
  const next = new Map(nodes.map((n) => [n.id, []]));
  for (const edge of edges) {
    if (!incoming.has(edge.source) || !incoming.has(edge.target)) continue;
    incoming.set(edge.target, incoming.get(edge.target) + 1);
    next.get(edge.source).push(edge.target);
  }
  const rank = new Map();
  const queue = nodes.filter((n) => incoming.get(n.id) === 0).map((n) => n.id);
  for (const id of queue) rank.set(id, 0);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i];
    for (const target of next.get(id)) {
      rank.set(target, Math.max(rank.get(target) ?? 0, rank.get(id) + 1));
      incoming.set(target, incoming.get(target) - 1);
      if (incoming.get(target) === 0) queue.push(target);
    }
  }
  // Nodes on a cycle never reach in-degree 0: a column of their own after the others.
  const last = Math.max(0, ...rank.values()) + 1;
  const rows = [];
  const positions = {};
  for (const node of nodes) {
    const column = rank.get(node.id) ?? last;
    rows[column] = (rows[column] ?? 0) + 1;
    positions[node.id] = { x: column * COLUMN, y: (rows[column] - 1) * ROW };
  }
  return positions;
}

let worker = null;
let asked = 0;
const waiting = new Map();

/** ELK's layered positions for the graph, computed in a worker; null when the worker cannot run. */
export function refine(nodes, edges, width = 140, height = 36) {
  if (!worker) {
    try {
      worker = new Worker('/static/layout-worker.js');
    } catch {
      return Promise.resolve(null);
    }
    worker.onmessage = ({ data }) => {
      waiting.get(data.id)?.(data.positions);
      waiting.delete(data.id);
    };
  }
  const ids = new Set(nodes.map((n) => n.id));
  const graph = {
    id: 'root',
    layoutOptions: { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.layered.spacing.nodeNodeBetweenLayers': '60' },
    children: nodes.map((n) => ({ id: n.id, width, height })),
    edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target) && e.source !== e.target)
      .map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
  };
  const id = ++asked;
  worker.postMessage({ id, graph });
  return new Promise((resolve) => waiting.set(id, resolve));
}
