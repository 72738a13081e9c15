/**
 * StreamTrack processes as a user runs them: `src/cli.ts api|worker` in child
 * processes with their own environment, output kept for failure reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { REPO_ROOT } from './services.js';

export interface StreamtrackProcess {
  child: ChildProcess;
  output(): string;
  /** Sends the signal and resolves with the exit code once the process ended. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function spawnStreamtrack(command: 'api' | 'worker', env: NodeJS.ProcessEnv): StreamtrackProcess {
  return spawnTypeScript(['src/cli.ts', command], env);
}

/**
 * The young generation, as the npm start scripts and the image set it for
 * the API and the worker alike. The API allocates short-lived objects per
 * request: 64 MB (fewer scavenges) measured +7% events/s on /track batches.
 * The worker holds a round's objects while they are written: with JSON
 * inserts 128 MB measured about 10% less CPU per event than 64; with
 * RowBinary inserts 64 MB did as well as 128 (four alternating three-round
 * bench:worker runs: median ratio 0.51 on average either way) at about
 * 110 MB less peak RSS.
 */
const NODE_FLAGS = ['--max-semi-space-size=64'];

/** A TypeScript entry point of this repository in a child process (via tsx), run as in production. */
export function spawnTypeScript(args: string[], env: NodeJS.ProcessEnv): StreamtrackProcess {
  return spawnNode([...NODE_FLAGS, '--import', 'tsx', ...args], env);
}

/** `api` or `worker` from the compiled build (`npm run build`), exactly as the container image runs it. */
export function spawnBuilt(command: 'api' | 'worker', env: NodeJS.ProcessEnv): StreamtrackProcess {
  return spawnNode([...NODE_FLAGS, 'dist/src/cli.js', command], env);
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): StreamtrackProcess {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resident memory of a process (this one without a pid), in MB; NaN once it is gone. */
export async function rssMb(pid?: number): Promise<number> {
  const status = await readFile(`/proc/${pid ?? 'self'}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** CPU seconds a process has used so far (user + system), from /proc (Linux). */
export async function cpuSeconds(pid?: number): Promise<number> {
  const stat = await readFile(`/proc/${pid ?? 'self'}/stat`, 'utf8').catch(() => '');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat (Linux). */
export async function machineCpuSeconds(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy: busy / CLOCK_TICKS, total: (busy + idle! + iowait!) / CLOCK_TICKS };
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** Whether a process of this pid exists (signal 0 checks without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Samples the processes' resident memory every `everyMs` until `stop`, which resolves with each one's peak in MB. */
export function sampleRss(pids: number[], everyMs = 200): { stop(): Promise<number[]> } {
  const peaks = pids.map(() => 0);
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      const now = await Promise.all(pids.map((pid) => rssMb(pid)));
      now.forEach((mb, i) => (peaks[i] = Number.isNaN(mb) ? peaks[i]! : Math.max(peaks[i]!, mb)));
    });
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      return peaks.map(Math.round);
    },
  };
}
