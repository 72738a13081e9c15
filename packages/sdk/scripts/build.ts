/**
 * Builds the package: dist/browser.js (the browser bundle: ESM, minified),
 * dist/node.js (ESM for Node), and the type declarations (tsc). esbuild and
 * typescript are the repository's dev dependencies; the package has no
 * runtime dependency.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The browser bundle's options: what ships to pages and what the size budget measures. */
export const BROWSER_BUNDLE: BuildOptions = {
  entryPoints: [join(PACKAGE_DIR, 'src/browser.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
};

/** The browser bundle's text, built in memory. */
export async function browserBundle(): Promise<string> {
  const result = await build({ ...BROWSER_BUNDLE, write: false });
  return result.outputFiles![0]!.text;
}

async function main() {
  const dist = join(PACKAGE_DIR, 'dist');
  rmSync(dist, { recursive: true, force: true });
  await Promise.all([
    build({ ...BROWSER_BUNDLE, outfile: join(dist, 'browser.js') }),
    build({ entryPoints: [join(PACKAGE_DIR, 'src/node.ts')], bundle: true, format: 'esm', platform: 'node', target: 'node20', outfile: join(dist, 'node.js') }),
  ]);
  execFileSync(process.execPath, [join(PACKAGE_DIR, '../../node_modules/typescript/bin/tsc'), '-p', join(PACKAGE_DIR, 'tsconfig.json')], { stdio: 'inherit' });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
