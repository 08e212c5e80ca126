// The console's router: hash routes to views; each view may return a cleanup run when the route changes.
import { api } from './api.js';
import { errorBox, h, replace } from './dom.js';
import { artifactsView, artifactView } from './views/artifacts.js';
import { extensionsView, extensionView } from './views/extensions.js';
import { poolView } from './views/pool.js';
import { runView } from './views/run.js';
import { runsView } from './views/runs.js';
import { workflowsView, workflowView } from './views/workflows.js';

const ROUTES = {
  workflows: [workflowsView, workflowView],
  runs: [runsView, runView],
  extensions: [extensionsView, extensionView],
  artifacts: [artifactsView, artifactView],
  pool: [poolView, poolView],
};

let me = null;
let cleanup = null;
let shown = 0;

async function route() {
  const main = document.getElementById('main');
  const [path, search] = location.hash.replace(/^#\/?/, '').split('?');
  const [section, ...rest] = path.split('/');
  const views = ROUTES[section] ?? ROUTES.workflows;
  const id = rest.length ? decodeURIComponent(rest.join('/')) : null;
  const page = ++shown;
  cleanup?.();
  cleanup = null;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === `#/${section || 'workflows'}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  replace(main, h('p', {}, 'Loading…'));
  main.setAttribute('aria-busy', 'true');
  // Each view fills its own element, shown only if no later route replaced it meanwhile.
  const view = h('div', { class: 'view' });
  try {
    const done = await views[id ? 1 : 0](view, me, id, new URLSearchParams(search ?? ''));
    if (page !== shown) {
      done?.();
      return;
    }
    cleanup = done ?? null;
    replace(main, view);
    document.title = `${view.querySelector('h1')?.textContent ?? 'Console'} · Symphony`;
  } catch (error) {
    if (page === shown) replace(main, h('h1', {}, 'Cannot show this page'), errorBox(error));
  } finally {
    if (page === shown) main.removeAttribute('aria-busy');
  }
}

async function start() {
  try {
    me = await api('/me');
  } catch (error) {
    replace(document.getElementById('main'), h('h1', {}, 'Sign in'),
      error.status === 401
        ? h('p', {}, 'Open the one-time link that ', h('code', {}, 'symphony ui'), ' printed, or send a token from ',
          h('code', {}, 'symphony login'), ' as a bearer token.')
        : errorBox(error));
    return;
  }
  replace(document.getElementById('who'), `${me.user} (${me.role})`);
  window.addEventListener('hashchange', route);
  await route();
}

start();
