/**
 * `npm run build:ui`: the web UI (ui/) bundled by esbuild into dist/ui/,
 * which the API serves under /ui (src/api/static-assets.ts): index.html,
 * one script and one stylesheet, their names carrying a hash of their
 * content so browsers may keep them for good. Minified, no source maps
 * shipped. Prints what a first load costs, gzipped (scripts/ui-size.ts).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { firstLoadSize, formatSize } from './ui-size.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist', 'ui');

export async function buildUi(): Promise<void> {
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  const common: BuildOptions & { metafile: true } = {
    bundle: true,
    minify: true,
    target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: OUT,
    entryNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
  // The Live page's Web Worker first: the page's script is given its hashed name. Loaded by Live only, not in the first load.
  const worker = await build({ ...common, entryPoints: { 'live-worker': join(ROOT, 'ui', 'src', 'live-worker.ts') }, format: 'iife' });
  const workerName = Object.keys(worker.metafile.outputs).map((path) => path.split('/').pop()!).find((name) => name.endsWith('.js'));
  const result = await build({
    ...common,
    entryPoints: { app: join(ROOT, 'ui', 'src', 'main.tsx') },
    format: 'esm',
    define: { LIVE_WORKER_URL: JSON.stringify(`/ui/assets/${workerName}`) },
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => path.split('/').pop()!);
  const script = outputs.find((name) => name.endsWith('.js'));
  const style = outputs.find((name) => name.endsWith('.css'));
  if (!script || !style) throw new Error(`esbuild wrote ${outputs.join(', ')}: expected one script and one stylesheet`);
  const page = (await readFile(join(ROOT, 'ui', 'index.html'), 'utf8')).replace('%SCRIPT%', `/ui/assets/${script}`).replace('%STYLE%', `/ui/assets/${style}`);
  await writeFile(join(OUT, 'index.html'), page);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildUi();
  const size = await firstLoadSize(OUT);
  console.log(`UI built into dist/ui: first load ${formatSize(size.gzipped)} gzipped (${formatSize(size.raw)} raw)`);
}
