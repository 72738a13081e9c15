/**
 * Prints the browser bundle's size, minified and gzipped (level 9, as a CDN
 * serves it), against its budget; exits 1 over budget. CI runs it
 * (`npm run sdk:size`); src/size.test.ts asserts the same budget.
 */
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { browserBundle } from './build.js';

export const BUDGET_GZIP_BYTES = 6 * 1024;

export async function measure(): Promise<{ minified: number; gzipped: number }> {
  const text = await browserBundle();
  return { minified: Buffer.byteLength(text), gzipped: gzipSync(text, { level: 9 }).length };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { minified, gzipped } = await measure();
  console.log(`@streamtrack/sdk browser bundle: ${minified} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_GZIP_BYTES})`);
  if (gzipped > BUDGET_GZIP_BYTES) process.exit(1);
}
