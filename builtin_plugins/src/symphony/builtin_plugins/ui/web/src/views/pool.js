// The model pool: each model's state, memory and use.
import { api } from '../api.js';
import { h, replace, table, when } from '../dom.js';
import { stateBadge } from '../graph.js';

const scalar = (value) => (value === null || value === undefined ? '—' : typeof value === 'object' ? JSON.stringify(value) : value);

export async function poolView(main) {
  const doc = await api('/pool');
  const models = doc.models ?? [];
  const keys = [...new Set(models.flatMap(Object.keys))].filter((k) => !['model', 'model_id', 'name', 'state', 'last_used'].includes(k));
  const totals = Object.entries(doc).filter(([key]) => key !== 'models');
  replace(main,
    h('h1', {}, 'Pool'),
    totals.length ? h('dl', { class: 'totals' }, totals.map(([key, value]) => [h('dt', {}, key.replaceAll('_', ' ')), h('dd', {}, scalar(value))])) : null,
    table('Models in the pool', [
      ['Model', (m) => m.model ?? m.model_id ?? m.name],
      ['State', (m) => stateBadge(m.state)],
      ['Last used', (m) => when(m.last_used)],
      ...keys.map((key) => [key.replaceAll('_', ' '), (m) => scalar(m[key])]),
    ], models));
}
