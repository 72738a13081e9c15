/** The Node entry's SIGTERM: a real child process, a real local server playing the API. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeApi } from '../test/fake-api.js';

const CHILD = join(fileURLToPath(import.meta.url), '../../test/sigterm-child.ts');
let api: FakeApi;

beforeEach(async () => {
  api = await new FakeApi().start();
});
afterEach(async () => {
  await api.stop();
});

it('flushes on SIGTERM, then ends by the signal as the process would have', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, api.url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const ids = JSON.parse(line.toString()) as string[];
  expect(api.received).toHaveLength(0);
  child.kill('SIGTERM');
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
  expect(api.ids()).toEqual(ids);
}, 30_000);
