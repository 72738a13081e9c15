/**
 * `npm start` as a user runs it, with the service addresses in the
 * environment: the API and one worker under one supervisor, the seed's two
 * requests answered, and one Ctrl-C (one SIGINT to the terminal's foreground
 * process group, which npm then forwards as well) stops every process it
 * started, with none left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, isAlive, spawnTypeScript } from '../testing/processes.js';
import { REPO_ROOT } from '../testing/services.js';
import { isolatedEnv } from '../testing/test-config.js';
import { waitFor } from '../testing/wait-for.js';

interface ProcessInfo {
  pid: number;
  ppid: number;
  cmdline: string;
}

/** Every process on the machine, from /proc (Linux). */
function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields after it are fixed.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), ppid, cmdline });
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

function descendants(root: number): ProcessInfo[] {
  const all = processes();
  const tree: ProcessInfo[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const proc of all) {
      if (parents.has(proc.ppid) && !parents.has(proc.pid)) {
        parents.add(proc.pid);
        tree.push(proc);
        grew = true;
      }
    }
  }
  return tree;
}

let npmStart: ChildProcess;
let output = '';
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  const env = isolatedEnv(inject('services'), { API_PORT: String(port), LOG_LEVEL: 'info' });
  base = `http://127.0.0.1:${port}`;

  // With addresses configured, `npm start` leaves migrations, topics and schemas to `npm run init`.
  const init = spawnTypeScript(['src/cli.ts', 'init'], env);
  const [initCode] = (await once(init.child, 'exit')) as [number | null];
  expect(initCode, `init\n${init.output()}`).toBe(0);

  // Its own process group, as a terminal's foreground job is.
  npmStart = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  npmStart.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  npmStart.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  exited = new Promise((resolve) => npmStart.once('exit', (code, signal) => resolve({ code, signal })));
  await waitFor(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), {
    timeoutMs: 90_000,
    what: `API ready\n${output}`,
  });
});

afterAll(() => {
  // Only if the test failed before its Ctrl-C: nothing of this run may outlive it.
  for (const proc of npmStart?.pid ? descendants(npmStart.pid) : []) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  if (npmStart?.pid && isAlive(npmStart.pid)) process.kill(npmStart.pid, 'SIGKILL');
});

describe('npm start', () => {
  it("answers the seed's two requests, then stops everything at one Ctrl-C", async () => {
    // curl -X POST -H "Content-Type: application/json" -d '{"user_id": "local_user", "action": "app_started"}' .../track
    const tracked = await fetch(`${base}/track`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"user_id": "local_user", "action": "app_started"}',
    });
    expect(tracked.status).toBe(202);
    const { results } = (await tracked.json()) as { results: { event_id: string }[] };
    const eventId = results[0]?.event_id;

    // curl .../activities
    const listed = await waitFor(
      async () => {
        const { events } = (await (await fetch(`${base}/activities`)).json()) as { events: { event_id: string; user_id: string }[] };
        return events.find((event) => event.event_id === eventId);
      },
      { timeoutMs: 30_000, what: `the event in /activities\n${output}` },
    );
    expect(listed).toMatchObject({ user_id: 'local_user', action: 'app_started' });

    const tree = descendants(npmStart.pid!);
    const commands = tree.map((proc) => proc.cmdline);
    expect(commands.some((c) => c.includes('scripts/start.ts')), commands.join('\n')).toBe(true);
    expect(commands.some((c) => c.endsWith('src/cli.ts api')), commands.join('\n')).toBe(true);
    expect(commands.some((c) => c.endsWith('src/cli.ts worker')), commands.join('\n')).toBe(true);

    process.kill(-npmStart.pid!, 'SIGINT');
    const end = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000))]);
    // npm ends itself with the signal it got once its script has ended, as a shell expects of a Ctrl-C.
    expect(end, output).toEqual({ code: null, signal: 'SIGINT' });
    expect(output).toMatch(/^\[start\] +stopped cleanly$/m);
    const left = await waitFor(() => {
      const still = [npmStart.pid!, ...tree.map((proc) => proc.pid)].filter(isAlive);
      return still.length === 0 ? still : undefined;
    }, { timeoutMs: 5_000, what: `every process of npm start gone: ${JSON.stringify(tree)}` });
    expect(left).toEqual([]);

    // Labelled, interleaved, and each process shut down on the one signal.
    expect(output).toMatch(/^\[api\] +\{.*"msg":"API listening"/m);
    expect(output).toMatch(/^\[worker\] +\{.*"msg":"topology worker running"/m);
    expect(output).toMatch(/^\[api\] +\{.*"signal":"SIGINT".*"msg":"shutting down"/m);
    expect(output).toMatch(/^\[worker\] +\{.*"signal":"SIGINT".*"msg":"shutting down"/m);
    expect(output.match(/stopping \(Ctrl-C again/g)).toHaveLength(1);
  });
});
