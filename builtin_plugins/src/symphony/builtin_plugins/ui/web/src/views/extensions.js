// Extensions: what they declare and hold, their audit, and grant/revoke (confirmed; admins only).
import { api, segment } from '../api.js';
import { confirmDialog, errorBox, field, h, replace, table, when } from '../dom.js';

const list = (items) => (items?.length ? items.map((c) => h('code', { class: 'cap' }, c)) : '—');

export async function extensionsView(main) {
  const extensions = await api('/extensions');
  replace(main, h('h1', {}, 'Extensions'), table('Installed extensions and extensions holding grants', [
    ['Extension', (e) => h('a', { href: `#/extensions/${segment(e.name)}` }, e.name)],
    ['Runtime', (e) => e.runtime],
    ['Nodes', (e) => (e.nodes?.length ? e.nodes.join(', ') : '—')],
    ['Declared', (e) => list(e.declared)],
    ['Granted', (e) => list(e.granted)],
  ], extensions));
}

export async function extensionView(main, me, name) {
  const message = h('div', { 'aria-live': 'polite' });
  const body = h('div');

  async function revoke(permission) {
    if (!(await confirmDialog(`Revoke ${permission} from ${name}? Its nodes lose this capability on their next run.`, 'Revoke'))) return;
    try {
      await api(`/extensions/${segment(name)}/grants/${segment(permission)}`, { method: 'DELETE' });
      replace(message, h('p', { class: 'ok', role: 'status' }, `Revoked ${permission} from ${name}.`));
    } catch (error) {
      replace(message, errorBox(error));
      return;
    }
    try {
      await load();
    } catch (error) {  // its last grant gone, an extension no plugin contributes is no longer listed
      if (error.status !== 404) throw error;
      replace(body, h('p', {}, `${name} holds no grants now and no installed plugin contributes it.`),
        h('p', {}, h('a', { href: '#/extensions' }, 'Back to the extensions')));
    }
  }

  async function grant(capability) {
    if (!(await confirmDialog(`Grant ${capability} to ${name}?`, 'Grant'))) return;
    try {
      await api(`/extensions/${segment(name)}/grants`, { method: 'POST', body: { capability } });
      replace(message, h('p', { class: 'ok', role: 'status' }, `Granted ${capability} to ${name}.`));
      await load();
    } catch (error) {
      replace(message, errorBox(error));
    }
  }

  async function load() {
    const doc = await api(`/extensions/${segment(name)}`);
    const canRevoke = me.can.includes('grants.revoke');
    const capability = h('input', { name: 'capability', required: true, placeholder: 'network:api.example.com:443', autocomplete: 'off' });
    replace(body,
      h('p', {}, `Runtime ${doc.runtime ?? '—'} · nodes ${doc.nodes?.join(', ') || '—'}`),
      doc.manifest ? [h('h2', {}, 'Manifest'), h('pre', {}, JSON.stringify(doc.manifest, null, 2))] : null,
      h('h2', {}, 'Declared'), h('p', {}, list(doc.declared)),
      table('Granted capabilities', [
        ['Capability', (g) => h('code', {}, g.permission)],
        ['Granted', (g) => when(g.granted_at)],
        ['By', (g) => g.granted_by],
        ['Source', (g) => g.source],
        ['', (g) => (canRevoke ? h('button', { type: 'button', class: 'danger', onclick: () => revoke(g.permission) }, `Revoke ${g.permission}`) : null)],
      ], doc.granted),
      canRevoke ? null : h('p', { class: 'muted' }, `Your role (${me.role}) cannot grant or revoke capabilities.`),
      me.can.includes('grants.grant')
        ? h('form', { class: 'filters', 'aria-label': 'Grant a capability', onsubmit: (event) => { event.preventDefault(); grant(capability.value.trim()); } },
          field('Capability', capability), h('button', {}, 'Grant'))
        : null,
      table('Audit (latest first)', [
        ['At', (a) => when(a.at)], ['Action', (a) => a.action], ['Detail', (a) => a.detail], ['Outcome', (a) => a.outcome],
        ['Run', (a) => (a.run_id ? h('a', { href: `#/runs/${segment(a.run_id)}` }, a.run_id) : '—')],
      ], doc.audit ?? []));
  }

  replace(main, h('h1', {}, `Extension ${name}`), message, body);
  await load();
}
