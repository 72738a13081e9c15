/**
 * The round driver's rules over a fake consumer (the port kafkajs fills in
 * batch-consumer.ts): the lifecycle of a round that commits, one that fails
 * to finish, one whose member was evicted while it was written (fenced: no
 * window write, no commit), and one stuck retrying when shutdown's grace
 * runs out. The same rules against the real broker: batch-consumer.integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { attempt, retry, runStep, type Step } from '../worker/steps/step.js';
import { Ownership } from './ownership.js';
import { createRoundDriver } from './round-driver.js';
import type { BatchHandlers, CommitPoint, ConsumerPort, RoundContext, TakenBatch } from './round-handlers.js';
import type { RoundLifecycle } from './round-lifecycle.js';

const logger = createLogger('silent', 'round-driver-test');

class FakeConsumer implements ConsumerPort {
  commits: Array<{ partition: number } & CommitPoint> = [];
  seeks: Array<{ partition: number; offset: string }> = [];
  resolved: Array<{ partition: number; offset: string }> = [];
  /** What the next heartbeats answer: undefined for ok, else the broker's error. */
  heartbeatError: { type: string } | undefined;

  async commit(offsets: Array<{ topic: string; partition: number } & CommitPoint>) {
    this.commits.push(...offsets.map(({ partition, offset, metadata }) => ({ partition, offset, metadata })));
  }
  seek({ partition, offset }: { partition: number; offset: string }) {
    this.seeks.push({ partition, offset });
  }
  async heartbeat() {
    if (this.heartbeatError) throw Object.assign(new Error(this.heartbeatError.type), this.heartbeatError);
  }
  batch(partition: number, firstOffset: number, count: number): TakenBatch {
    const lastOffset = String(firstOffset + count - 1);
    return {
      batch: {
        topic: 'events',
        partition,
        records: Array.from({ length: count }, (_, i) => ({ offset: String(firstOffset + i), key: null, value: Buffer.from('x') })),
        firstOffset: String(firstOffset),
        lastOffset,
      },
      isStale: () => false,
      resolveOffset: (offset) => this.resolved.push({ partition, offset }),
      highWatermark: String(firstOffset + count),
    };
  }
}

/** A window-results write that records what it wrote. */
function writeStep(written: string[], fails = false): Step<string, void> {
  return {
    name: 'write window results',
    retry: { initialDelayMs: 1, maxDelayMs: 5 },
    run: (rows) => (fails ? Promise.resolve(retry(new Error('ClickHouse refuses connections'))) : attempt(async () => void written.push(rows))),
  };
}

/** Handlers that take a round in at once and finish it with `finish`. */
function handlers(finish: (context: RoundContext) => Promise<void>, resets: { count: number }): BatchHandlers {
  return {
    async process(round, context) {
      context.progress('stored');
      context.progress('folded');
      return {
        commits: round.map((b) => ({ offset: String(Number(b.lastOffset) + 1), metadata: 'm' })),
        finish: () => finish(context),
      };
    },
    onAssignment: () => (resets.count += 1),
  };
}

function setUp(finish: (context: RoundContext) => Promise<void>, sessionTimeoutMs = 10_000) {
  const consumer = new FakeConsumer();
  const ownership = new Ownership(sessionTimeoutMs);
  const resets = { count: 0 };
  const lifecycles: RoundLifecycle[] = [];
  const driver = createRoundDriver(consumer, handlers(finish, resets), {
    ownership,
    heartbeatEveryMs: 5,
    logger,
    onRound: (lifecycle) => lifecycles.push(lifecycle),
  });
  driver.assigned();
  const take = async (...batches: TakenBatch[]) => void (await Promise.all(batches.map((b) => driver.take(b))));
  return { consumer, driver, ownership, resets, lifecycles, take };
}

const settled = async (lifecycle: () => RoundLifecycle | undefined) => {
  for (let i = 0; i < 200 && !lifecycle()?.settled; i++) await new Promise((resolve) => setTimeout(resolve, 5));
};

describe('the round driver', () => {
  it('takes a round in, writes it, then commits each batch after its last offset', async () => {
    const written: string[] = [];
    const { consumer, driver, lifecycles, take } = setUp((context) => runStep(writeStep(written), 'results', { round: context, logger }));
    await take(consumer.batch(0, 0, 3), consumer.batch(1, 10, 2));
    await settled(() => lifecycles[0]);
    expect(lifecycles[0]!.history).toEqual(['taken', 'stored', 'folded', 'written', 'committed']);
    expect(written).toEqual(['results']);
    expect(consumer.commits).toEqual([
      { partition: 0, offset: '3', metadata: 'm' },
      { partition: 1, offset: '12', metadata: 'm' },
    ]);
    expect(consumer.resolved).toEqual([
      { partition: 0, offset: '2' },
      { partition: 1, offset: '11' },
    ]);
    driver.close();
  });

  it('rewinds a round that fails to finish: no commit, its partitions sought back, the state reset', async () => {
    const { consumer, driver, resets, lifecycles, take } = setUp(async () => {
      throw new Error('the sink refused the round');
    });
    await take(consumer.batch(0, 5, 3));
    await settled(() => lifecycles[0]);
    expect(lifecycles[0]!.history).toEqual(['taken', 'stored', 'folded', 'rewound']);
    expect(lifecycles[0]!.rewindReason).toBe('failed');
    expect(consumer.commits).toEqual([]);
    expect(consumer.seeks).toEqual([{ partition: 0, offset: '5' }]);
    expect(resets.count).toBe(2); // the assignment, then the rewind
    driver.close();
  });

  it('fences a round whose member was evicted while it was written: no window results written as the owner, no commit', async () => {
    const written: string[] = [];
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let writing: RoundContext | undefined;
    const { consumer, driver, lifecycles, take } = setUp(async (context) => {
      writing = context;
      await stalled; // ClickHouse slow: meanwhile the coordinator drops the member
      await runStep(writeStep(written), 'results', { round: context, logger });
    });
    await take(consumer.batch(3, 0, 4));
    consumer.heartbeatError = { type: 'UNKNOWN_MEMBER_ID' };
    // The timer's heartbeat hears of the eviction: the round's claim ends before its write starts.
    for (let i = 0; i < 200 && writing?.owned() !== false; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(writing?.signal.aborted).toBe(true);
    release();
    await settled(() => lifecycles[0]);
    expect(written).toEqual([]);
    expect(consumer.commits).toEqual([]);
    expect(lifecycles[0]!.state).toBe('rewound');
    expect(lifecycles[0]!.rewindReason).toBe('revoked');
    driver.close();
  });

  it('rewinds a round whose lease of heartbeats lapsed, seeking it back, so nothing is skipped when the broker answers again', async () => {
    const written: string[] = [];
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let writing: RoundContext | undefined;
    const { consumer, driver, ownership, lifecycles, take } = setUp(async (context) => {
      writing = context;
      await stalled;
      await runStep(writeStep(written), 'results', { round: context, logger });
    }, 50);
    await take(consumer.batch(4, 7, 3));
    consumer.heartbeatError = { type: 'NETWORK' }; // the coordinator does not answer: the lease is not renewed
    for (let i = 0; i < 200 && writing?.owned() !== false; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    await settled(() => lifecycles[0]);
    expect(written).toEqual([]);
    expect(consumer.commits).toEqual([]);
    expect(lifecycles[0]!.rewindReason).toBe('revoked');
    expect(consumer.seeks).toEqual([{ partition: 4, offset: '7' }]);
    consumer.heartbeatError = undefined;
    ownership.heartbeat('member'); // the broker answers again: a new term on the same assignment
    expect(ownership.holding).toBe(true);
    driver.close();
  });

  it('abandons a round stuck retrying once the shutdown grace runs out, committing nothing of it', async () => {
    const { consumer, driver, lifecycles, take } = setUp((context) => runStep(writeStep([], true), 'results', { round: context, logger }));
    await take(consumer.batch(0, 0, 2));
    const started = performance.now();
    const release = driver.stop(50);
    await settled(() => lifecycles[0]);
    release();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(lifecycles[0]!.history).toEqual(['taken', 'stored', 'folded', 'rewound']);
    expect(lifecycles[0]!.rewindReason).toBe('shutdown');
    expect(consumer.commits).toEqual([]);
    expect(consumer.seeks).toEqual([]); // left to the partitions' next owner
  });

  it('commits a round that finishes within the grace, and takes no new round while stopping', async () => {
    const written: string[] = [];
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const { consumer, lifecycles, take, driver } = setUp(async (context) => {
      await slow;
      await runStep(writeStep(written), 'results', { round: context, logger });
    });
    await take(consumer.batch(0, 0, 2));
    const stopped = driver.stop(1_000);
    await take(consumer.batch(1, 0, 2));
    release();
    await settled(() => lifecycles[0]);
    stopped();
    expect(lifecycles).toHaveLength(1);
    expect(lifecycles[0]!.state).toBe('committed');
    expect(consumer.commits).toEqual([{ partition: 0, offset: '2', metadata: 'm' }]);
    expect(consumer.resolved).toEqual([{ partition: 0, offset: '1' }]);
  });
});
