// `npm run build`: bundle the console into ../static (committed; the wheel ships it, so installs need no Node).
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';

const out = new URL('../static/', import.meta.url);
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const common = { bundle: true, minify: true, format: 'esm', target: ['chrome109', 'firefox115', 'safari16'], legalComments: 'none', logLevel: 'info' };
await build({ ...common, entryPoints: ['src/main.js'], outfile: new URL('app.js', out).pathname });
await build({ ...common, format: 'iife', entryPoints: ['src/layout-worker.js'], outfile: new URL('layout-worker.js', out).pathname });
await build({ ...common, format: undefined, entryPoints: ['app.css'], outfile: new URL('app.css', out).pathname });
// The page itself, with the indentation and line breaks between its tags dropped.
const page = await readFile('index.html', 'utf8');
await writeFile(new URL('index.html', out), page.replace(/>\s+</g, '><').trim() + '\n');

// The bundled libraries' licences, shipped beside them.
const notices = [];
for (const name of ['cytoscape', 'elkjs']) {
  const meta = JSON.parse(await readFile(`node_modules/${name}/package.json`, 'utf8'));
  const licence = await readFile(`node_modules/${name}/LICENSE`, 'utf8').catch(() => readFile(`node_modules/${name}/LICENSE.md`, 'utf8'));
  notices.push(`${name} ${meta.version} (${meta.license}) ${meta.homepage ?? ''}\n\n${licence.trim()}\n`);
}
await writeFile(new URL('THIRD_PARTY_LICENSES.txt', out), `The console bundles:\n\n${notices.join('\n' + '-'.repeat(72) + '\n\n')}`);
