// The runs list with its filters, and starting a run.
import { api, segment } from '../api.js';
import { errorBox, field, h, replace, seconds, table, when } from '../dom.js';
import { stateBadge } from '../graph.js';

const STATUSES = ['', 'running', 'succeeded', 'failed', 'cancelled'];

/** Start `workflow` with `inputs` (input name -> value) and show its run. */
export async function startRun(workflow, inputs = {}) {
  try {
    const { run_id: runId } = await api('/runs', { method: 'POST', body: { workflow, inputs } });
    location.hash = `#/runs/${segment(runId)}`;
  } catch (error) {
    document.getElementById('main').prepend(errorBox(error));
  }
}

export async function runsView(main, me, _id, query) {
  const workflows = await api('/workflows').catch(() => []);
  const status = h('select', { name: 'status' }, STATUSES.map((s) => h('option', { value: s, selected: s === (query.get('status') ?? '') }, s || 'any')));
  const workflow = h('select', { name: 'workflow' },
    h('option', { value: '' }, 'any'),
    workflows.map((w) => h('option', { value: w.id, selected: w.id === query.get('workflow') }, w.id)));
  const results = h('div', { 'aria-live': 'polite' });

  async function load() {
    const params = new URLSearchParams({ limit: '100' });
    if (status.value) params.set('status', status.value);
    if (workflow.value) params.set('workflow', workflow.value);
    try {
      const runs = await api(`/runs?${params}`);
      replace(results, table(`Runs (${runs.length})`, [
        ['Run', (r) => h('a', { href: `#/runs/${segment(r.run_id)}` }, r.run_id)],
        ['Workflow', (r) => r.workflow],
        ['Status', (r) => stateBadge(r.status)],
        ['Started', (r) => when(r.started_at)],
        ['Duration', (r) => seconds(r.duration_s)],
        ['Nodes done', (r) => (r.nodes_done === null ? '—' : `${r.nodes_done}/${r.nodes_total}`)],
        ['Cache hits', (r) => r.cache_hits],
        ['Retries', (r) => r.retries],
      ], runs));
    } catch (error) {
      replace(results, errorBox(error));
    }
  }

  const start = h('select', { name: 'start' }, workflows.map((w) => h('option', { value: w.id }, w.id)));
  const inputs = h('input', { name: 'inputs', autocomplete: 'off', placeholder: '{"user": "..."}', 'aria-describedby': 'inputs-help' });
  const startMessage = h('div', { 'aria-live': 'polite' });
  const submit = (event) => {
    event.preventDefault();
    let values = {};
    try {
      values = inputs.value.trim() ? JSON.parse(inputs.value) : {};
    } catch (error) {
      replace(startMessage, errorBox(new Error(`Inputs are not JSON (${error.message}); write an object, e.g. {"user": "Ada"}.`)));
      return;
    }
    startRun(start.value, values);
  };
  replace(main,
    h('h1', {}, 'Runs'),
    h('form', { class: 'filters', 'aria-label': 'Filter runs', onchange: load, onsubmit: (event) => { event.preventDefault(); load(); } },
      field('Status', status), field('Workflow', workflow), h('button', {}, 'Apply filters')),
    me.can.includes('runs.start') && workflows.length
      ? [h('form', { class: 'filters', 'aria-label': 'Start a run', onsubmit: submit },
        field('Workflow to run', start), field('Inputs (JSON, optional)', inputs), h('button', {}, 'Start run')),
      h('p', { id: 'inputs-help', class: 'muted' }, 'Inputs: a JSON object of the workflow\'s input names and values.'), startMessage]
      : null,
    results);
  await load();
}
