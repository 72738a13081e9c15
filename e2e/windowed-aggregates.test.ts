/**
 * The windowed topologies end to end, against ground truth computed from the
 * events the test sent: per-user, per-minute counts in ClickHouse equal the
 * truth exactly, the hour and day rollups too, and the raw row count equals
 * N; then the same after a worker is killed with SIGKILL mid-stream, and
 * after one is stopped with SIGTERM during a batch. Each run prints events
 * lost, duplicated raw rows and over-counted aggregates (all must be 0).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Stack, flush, traffic, verify } from '../testing/stack.js';
import { waitFor } from '../testing/wait-for.js';

describe('windowed aggregates, exact against ground truth', () => {
  const stack = new Stack();
  beforeAll(() => stack.start(3));
  afterAll(() => stack.stop());

  it('3 workers, 100,000 events: per-user per-minute counts, rollups and raw rows equal the truth', async () => {
    const sent = traffic(100_000, 2_000, 60, 7);
    await stack.send(sent);
    await stack.send(flush(60));
    await verify(stack, sent);
  });
});

describe('a worker killed with SIGKILL mid-stream', () => {
  const stack = new Stack();
  beforeAll(() => stack.start(2));
  afterAll(() => stack.stop());

  it('loses and double-counts nothing once a new worker takes over', async () => {
    const sent = traffic(30_000, 1_000, 30, 11);
    await stack.send(sent.slice(0, 15_000));
    await waitFor(async () => ((await stack.count('SELECT count() AS n FROM events')) > 2_000 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the workers to be busy',
    });
    await stack.workers[0]!.stop('SIGKILL');
    await stack.send(sent.slice(15_000));
    stack.addWorker();
    await stack.send(flush(30));
    await verify(stack, sent);
  });
});

describe('a worker stopped with SIGTERM during a batch', () => {
  const stack = new Stack();
  beforeAll(() => stack.start(2));
  afterAll(() => stack.stop());

  it('finishes, commits and leaves the group within 25 s, and nothing is lost or double-counted', async () => {
    const sent = traffic(30_000, 1_000, 30, 13);
    await stack.send(sent.slice(0, 15_000));
    await waitFor(async () => ((await stack.count('SELECT count() AS n FROM events')) > 2_000 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the workers to be busy',
    });
    const stopping = Date.now();
    const code = await stack.workers[0]!.stop('SIGTERM');
    const shutdownSeconds = (Date.now() - stopping) / 1000;
    console.log('[windowed aggregates] SIGTERM shutdown seconds', shutdownSeconds);
    expect(code).toBe(0);
    expect(shutdownSeconds).toBeLessThan(25);
    await stack.send(sent.slice(15_000));
    await stack.send(flush(30));
    await verify(stack, sent);
  });
});
