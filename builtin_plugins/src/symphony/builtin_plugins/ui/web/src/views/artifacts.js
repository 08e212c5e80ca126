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

export async function artifactView(main, _me, id) {
  const doc = await api(`/artifacts/${segment(id)}`);
  const artifact = doc.artifact;
  const lineage = doc.lineage;
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
    doc.versions ? table('Versions', [
      ['Version', (v) => v.version ?? v.id], ['Created', (v) => when(v.created_at)],
      ['Artifact', (v) => h('a', { href: `#/artifacts/${segment(v.id)}` }, v.id)],
    ], doc.versions) : null,
    h('h2', {}, 'Lineage'),
    lineage?.nodes?.length
      ? h('div', { class: 'split' }, graphBox, h('div', { class: 'side-list' },
        nodeList('Lineage nodes', lineage.nodes, (n) => n.label ?? n.id, (n) => { location.hash = `#/artifacts/${segment(n)}`; })))
      : h('p', {}, 'No lineage recorded for this artifact.'));
  if (lineage?.nodes?.length) {
    const cy = drawGraph(graphBox, lineage.nodes, lineage.edges ?? [], null);
    return () => cy.destroy();
  }
  return undefined;
}
