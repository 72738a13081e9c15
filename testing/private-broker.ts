/**
 * A Kafka broker of the test's own (scripts/services.sh with a private run
 * directory and ports), so a test can stop and restart it without touching
 * the shared services.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';
import { REPO_ROOT } from './services.js';

const run = promisify(execFile);

export interface PrivateBroker {
  brokers: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

export async function privateBroker(): Promise<PrivateBroker> {
  const runDir = await mkdtemp(join(tmpdir(), 'streamtrack-broker-'));
  const port = await freePort();
  const env = {
    ...process.env,
    ST_RUN_DIR: runDir,
    ST_KAFKA_PORT: String(port),
    ST_KAFKA_CONTROLLER_PORT: String(await freePort()),
    ST_KAFKA_PARTITIONS: '4',
  };
  const script = (command: 'up' | 'down') =>
    run('bash', [`${REPO_ROOT}scripts/services.sh`, command, 'kafka'], { env, timeout: 600_000 });
  return {
    brokers: `127.0.0.1:${port}`,
    start: async () => void (await script('up')),
    stop: async () => void (await script('down')),
    async remove() {
      await script('down');
      await rm(runDir, { recursive: true, force: true });
    },
  };
}
