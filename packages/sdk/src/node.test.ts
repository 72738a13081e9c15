/** The Node entry's process behaviour: a real child process, a real local server playing the API. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FakeApi } from '../test/fake-api.js';

const CHILD = join(fileURLToPath(import.meta.url), '../../test/node-child.ts');
let api: FakeApi;

beforeEach(async () => {
  api = await new FakeApi().start();
});
afterEach(async () => {
  await api.stop();
});

function child(mode: 'signal' | 'close') {
  return spawn(process.execPath, ['--import', 'tsx', CHILD, api.url, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
}

it('flushes on SIGTERM, then ends by the signal as the process would have', async () => {
  const process = child('signal');
  const [line] = (await once(process.stdout, 'data')) as [Buffer];
  const ids = JSON.parse(line.toString()) as string[];
  expect(api.received).toHaveLength(0);
  process.kill('SIGTERM');
  const [code, signal] = (await once(process, 'exit')) as [number | null, NodeJS.Signals | null];
  expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
  expect(api.ids()).toEqual(ids);
}, 30_000);

it('lets the process end once close() gives up on a server that never answers: no request or timer left behind', async () => {
  api.script = () => 'hang';
  const process = child('close');
  const started = Date.now();
  const [code] = (await once(process, 'exit')) as [number | null];
  expect(code).toBe(0);
  expect(api.received).toHaveLength(1);
  // The request timeout is 10 s and the flush interval a minute: ending sooner proves neither held the process.
  expect(Date.now() - started).toBeLessThan(8_000);
}, 30_000);
