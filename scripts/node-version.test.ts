/**
 * One Node version everywhere: .nvmrc (what scripts/node-env.sh installs),
 * the image's base, `engines` and the Node types agree.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}/${path}`, 'utf8');
const version = read('.nvmrc').trim();
const major = version.split('.')[0];

describe('the Node version', () => {
  it('is an exact version of Node 24 or newer', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(major)).toBeGreaterThanOrEqual(24);
  });

  it('is the image base of every stage, on an exact tag', () => {
    const bases = [...read('Dockerfile').matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toBe(`node:${version}-bookworm-slim`);
  });

  it('is what package.json requires and types', () => {
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
    expect(pkg.engines.node).toBe(`>=${major}`);
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${major}\\.`));
  });

  it('is what scripts/node-env.sh runs, and what runs these tests', () => {
    const ran = execFileSync('bash', [`${ROOT}/scripts/node-env.sh`, 'node', '--version'], { encoding: 'utf8' }).trim();
    expect(Number(ran.slice(1).split('.')[0])).toBeGreaterThanOrEqual(Number(major));
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(Number(major));
  });
});
