// Small DOM helpers: elements from a tag, attributes and children; no framework.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Tell screen-reader users what changed (the polite live region). */
export function announce(message) {
  const region = document.getElementById('status');
  region.textContent = '';
  requestAnimationFrame(() => { region.textContent = message; });
}

/** A table of `rows` with `columns` [[heading, row => cell], ...]; `caption` names it for assistive tech. */
export function table(caption, columns, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map(([name]) => h('th', { scope: 'col' }, name)))),
      h('tbody', {}, rows.length
        ? rows.map((row) => h('tr', {}, columns.map(([, cell]) => h('td', {}, cell(row) ?? '—'))))
        : h('tr', {}, h('td', { colspan: columns.length }, 'None.')))));
}

export function field(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '—';
}

export function seconds(value) {
  return value === null || value === undefined ? '—' : `${Number(value).toFixed(value < 10 ? 2 : 1)} s`;
}

/** A modal confirmation; resolves true when the user confirms. */
export function confirmDialog(text, action) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = action;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

export function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, error.message || String(error));
}
