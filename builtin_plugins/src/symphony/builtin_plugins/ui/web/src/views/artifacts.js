// Artifacts: full-text search, one artifact's metadata and versions, and its lineage graph.
import { api, segment } from '../api.js';
import { errorBox, field, h, replace, table, when } from '../dom.js';
import { drawGraph, nodeList } from '../graph.js';

const size = (bytes) => (bytes === undefined || bytes === null ? '—' : bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`);

export async function artifactsView(main, _me, _id, query) {
  const q = h('input', { type: 'search', name: 'q', value: query.get('q') ?? '', required: true, autocomplete: 'off' });
  const results = h('div', { 'aria-live': 'polite' });

  async function search() {
    const words = q.value.trim();
    if (!words) return;
    history.replaceState(null, '', `#/artifacts?q=${encodeURIComponent(words)}`);
    try {
      const found = await api(`/artifacts?q=${encodeURIComponent(words)}`);
      replace(results, table(`Artifacts matching “${words}” (${found.length})`, [
        ['Artifact', (a) => h('a', { href: `#/artifacts/${segment(a.id)}` }, a.name || a.id)],
        ['Version', (a) => a.version],
        ['Kind', (a) => a.kind],
        ['Size', (a) => size(a.size)],
        ['Created', (a) => when(a.created_at)],
      ], found));
    } catch (error) {
      replace(results, errorBox(error));
    }
  }

  replace(main, h('h1', {}, 'Artifacts'),
    h('form', { class: 'filters', role: 'search', 'aria-label': 'Search artifacts', onsubmit: (event) => { event.preventDefault(); search(); } },
      field('Search', q), h('button', {}, 'Search')),
    results);
  if (q.value) await search();
}

const short = (id) => id.replace(/^sha256:/, '').slice(0, 12);

/** Lineage nodes as drawn and listed: artifacts by short id, run nodes by node and contribution. */
function lineageNodes(lineage, current) {
  return lineage.nodes.map((n) => ({
    ...n,
    label: n.kind === 'node' ? `${n.node} (${n.contribution})` : `${n.id === current ? 'this: ' : ''}${short(n.id)}`,
  }));
}

export async function artifactView(main, _me, id) {
  const doc = await api(`/artifacts/${segment(id)}`);
  const artifact = doc.artifact;
  const nodes = doc.lineage ? lineageNodes(doc.lineage, artifact.id) : [];
  const open = (nodeId) => {
    const node = nodes.find((n) => n.id === nodeId);
    if (!node) return;
    location.hash = node.kind === 'node' ? `#/runs/${segment(node.run_id)}` : `#/artifacts/${segment(node.id)}`;
  };
  const graphBox = h('div', { class: 'graph small', role: 'img', 'aria-label': 'Lineage graph; the list beside it names its nodes' });
  replace(main,
    h('h1', {}, `Artifact ${artifact.name || artifact.id}`),
    h('dl', {},
      h('dt', {}, 'Id'), h('dd', {}, h('code', {}, artifact.id)),
      h('dt', {}, 'Version'), h('dd', {}, artifact.version ?? '—'),
      h('dt', {}, 'Kind'), h('dd', {}, artifact.kind ?? '—'),
      h('dt', {}, 'Size'), h('dd', {}, size(artifact.size)),
      h('dt', {}, 'Created'), h('dd', {}, when(artifact.created_at))),
    h('h2', {}, 'Metadata'), h('pre', {}, JSON.stringify(artifact.metadata ?? {}, null, 2)),
    doc.unavailable ? h('p', { class: 'muted' }, `Versions and lineage: ${doc.unavailable.detail}`) : null,
    doc.versions ? table('Versions', [
      ['Name', (v) => v.name], ['Version', (v) => v.version], ['Created', (v) => when(v.created_at)],
      ['Tags', (v) => (v.tags?.length ? v.tags.join(', ') : '—')],
      ['Artifact', (v) => (v.id === artifact.id ? 'this one' : h('a', { href: `#/artifacts/${segment(v.id)}` }, short(v.id)))],
    ], doc.versions) : null,
    h('h2', {}, 'Lineage'),
    nodes.length > 1
      ? h('div', { class: 'split' }, graphBox, h('div', { class: 'side-list' },
        nodeList('Lineage nodes', nodes, (n) => n.label, open)))
      : h('p', {}, 'No lineage recorded: no run produced or used this artifact.'));
  if (nodes.length > 1) {
    const cy = drawGraph(graphBox, nodes, doc.lineage.edges, open);
    return () => cy.destroy();
  }
  return undefined;
}
