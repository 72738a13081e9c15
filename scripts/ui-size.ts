/**
 * `npm run ui:size`: what the first load of /ui costs, gzipped as the API
 * serves it (level 9): the page and every asset it names. CI prints it
 * (.ci/run); the bound is 250 KB (checked by e2e/ui.test.ts too).
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const FIRST_LOAD_LIMIT_BYTES = 250 * 1024;

export async function firstLoadSize(dir: string): Promise<{ raw: number; gzipped: number; files: string[] }> {
  const page = await readFile(join(dir, 'index.html'));
  const assets = (await readdir(dir)).filter((name) => name !== 'index.html' && page.includes(`/ui/assets/${name}`));
  let raw = page.length;
  let gzipped = gzipSync(page, { level: 9 }).length;
  for (const name of assets) {
    const body = await readFile(join(dir, name));
    raw += body.length;
    gzipped += gzipSync(body, { level: 9 }).length;
  }
  return { raw, gzipped, files: ['index.html', ...assets] };
}

export const formatSize = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'ui');
  const size = await firstLoadSize(dir).catch((error: Error) => {
    console.error(`ui:size: no UI build in dist/ui (${error.message}); run npm run build:ui`);
    process.exit(1);
  });
  const verdict = size.gzipped <= FIRST_LOAD_LIMIT_BYTES ? 'within' : 'OVER';
  console.log(`UI first load: ${formatSize(size.gzipped)} gzipped, ${formatSize(size.raw)} raw (${size.files.join(', ')}); ${verdict} the ${formatSize(FIRST_LOAD_LIMIT_BYTES)} bound`);
  if (verdict === 'OVER') process.exit(1);
}
