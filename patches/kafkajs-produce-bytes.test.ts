/**
 * The patched produce path writes the same bytes as kafkajs 2.2.4's own
 * (patches/README.md). kafkajs as released is rebuilt by reversing the patch
 * on a copy of the installed package, so this also fails when the patch is
 * not applied (`npm ci --ignore-scripts` without `npx patch-package`).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const PATCH = join(REPO_ROOT, 'patches', 'kafkajs+2.2.4.patch');

interface Encoded {
  readonly buffer: Buffer;
}
interface Long {
  readonly high: number;
  readonly low: number;
}
interface Message {
  key: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
  timestamp?: string;
}
interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: Long;
  producerEpoch?: number;
  compression?: number;
  topicData: { topic: string; partitions: { partition: number; firstSequence?: number; messages: Message[] }[] }[];
}
interface KafkaRequest {
  apiKey: number;
  apiVersion: number;
  encode(): Promise<Encoded>;
}
interface Kafkajs {
  produce: (args: ProduceArgs) => KafkaRequest;
  frame: (args: { correlationId: number; clientId: string; request: KafkaRequest }) => Promise<Encoded>;
  longFrom: (value: number) => Long;
  gzip: number;
}

/** The produce request (v3, which every produce version this broker speaks uses) and its framing. */
function loadKafkajs(packageDir: string): Kafkajs {
  const load = createRequire(join(packageDir, 'package.json'));
  const src = (path: string): unknown => load(join(packageDir, 'src', path));
  const long = src('utils/long') as { fromValue(value: number): Long };
  const compression = src('protocol/message/compression') as { Types: { GZIP: number } };
  return {
    produce: src('protocol/requests/produce/v3/request') as Kafkajs['produce'],
    frame: src('protocol/request') as Kafkajs['frame'],
    longFrom: (value) => long.fromValue(value),
    gzip: compression.Types.GZIP,
  };
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function messages(next: () => number, count: number, withTimestamps: boolean): Message[] {
  const text = (length: number) => 'é€x'.repeat(Math.ceil(length / 3)).slice(0, length);
  return Array.from({ length: count }, (_, i) => {
    const pick = next();
    const message: Message = {
      key: pick < 0.2 ? null : pick < 0.4 ? Buffer.from([i % 256, 0, 255]) : `user-${i}`,
      value: pick > 0.9 ? null : pick > 0.7 ? Buffer.alloc(Math.floor(next() * 600), i % 256) : text(Math.floor(next() * 400)),
    };
    if (next() < 0.5) message.headers = { request: `r-${i}`, many: ['a', Buffer.from('b')], empty: '' };
    if (withTimestamps && next() < 0.8) message.timestamp = String(1_764_000_000_000 + Math.floor(next() * 1e6));
    return message;
  });
}

/** 16 requests: transactional or not, gzip or none, 0 to 300 records per partition, null keys and values, headers. */
function requests(kafkajs: Kafkajs): ProduceArgs[] {
  const next = random(18);
  return Array.from({ length: 16 }, (_, n): ProduceArgs => {
    const transactional = n % 2 === 1;
    const compressed = n % 4 >= 2;
    const sizes = [0, 1, 24, 300];
    return {
      acks: n % 3 === 0 ? 1 : -1,
      timeout: 30_000,
      ...(transactional ? { transactionalId: `tx-${n}`, producerId: kafkajs.longFrom(4_000 + n), producerEpoch: n } : {}),
      ...(compressed ? { compression: kafkajs.gzip } : {}),
      topicData: Array.from({ length: 1 + (n % 2) }, (_, t) => ({
        topic: `streamtrack.events.${t}`,
        partitions: Array.from({ length: 1 + (n % 12) }, (_, partition) => ({
          partition,
          firstSequence: partition * 7,
          messages: messages(next, sizes[(n + partition) % sizes.length] ?? 1, n < 8),
        })),
      })),
    };
  });
}

describe('kafkajs produce requests, patched', () => {
  let released: Kafkajs;
  let patched: Kafkajs;
  let workDir: string;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'kafkajs-released-'));
    cpSync(join(REPO_ROOT, 'node_modules', 'kafkajs'), join(workDir, 'node_modules', 'kafkajs'), { recursive: true });
    // Reversing fails unless the installed copy carries exactly this patch.
    execFileSync('patch', ['-R', '-p1', '--batch', '--silent', '-i', PATCH], { cwd: workDir });
    released = loadKafkajs(join(workDir, 'node_modules', 'kafkajs'));
    patched = loadKafkajs(join(REPO_ROOT, 'node_modules', 'kafkajs'));
    // Records without a timestamp take the time of encoding.
    vi.spyOn(Date, 'now').mockReturnValue(1_764_123_456_789);
  });

  afterAll(() => {
    vi.restoreAllMocks();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('is what is installed', () => {
    expect(patched.produce.toString()).not.toEqual(released.produce.toString());
  });

  it('writes the same bytes as kafkajs 2.2.4 for 16 varied requests, framing included', async () => {
    // Built once per copy (same seed, same contents): each copy gets its own Long values.
    const [oursArgs, theirsArgs] = [requests(patched), requests(released)];
    expect(oursArgs).toHaveLength(16);
    for (let n = 0; n < oursArgs.length; n++) {
      const encode = async (kafkajs: Kafkajs, args: ProduceArgs | undefined) =>
        (await kafkajs.frame({ correlationId: 1000 + n, clientId: 'streamtrack', request: kafkajs.produce(args!) })).buffer;
      const [ours, theirs] = [await encode(patched, oursArgs[n]), await encode(released, theirsArgs[n])];
      expect(ours.length, `request ${n}: length`).toBe(theirs.length);
      expect(ours.equals(theirs), `request ${n}: bytes`).toBe(true);
    }
  });
});
