/**
 * A small process supervisor (what `npm start` runs its parts with): child
 * processes whose output is interleaved line by line under their label,
 * stopped together. Each child leads its own process group, so a terminal's
 * Ctrl-C reaches only the supervisor, which decides what the children get:
 * the signal once, then SIGKILL at a deadline or at a second Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

export interface ChildSpec {
  label: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ChildExit {
  label: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: string;
}

/** Where labelled lines go: the supervisor's stdout and stderr by default. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export interface RunningChild {
  readonly label: string;
  readonly pid: number | undefined;
  readonly exited: Promise<ChildExit>;
  /** Sends the signal to the child's whole process group (it and anything it started). */
  signal(signal: NodeJS.Signals): void;
}

export interface StartOptions {
  output: Output;
  /** Width the labels are padded to, so the lines of several children align. */
  labelWidth?: number;
  /** Takes each stdout line instead of printing it; `false` prints it as usual. */
  takeLine?: (line: string) => boolean;
}

export function labelFor(label: string, width = 0): string {
  return `[${label}]`.padEnd(width + 2);
}

export function startChild(spec: ChildSpec, options: StartOptions): RunningChild {
  const prefix = labelFor(spec.label, options.labelWidth);
  // A child that labels its own lines alike (scripts/services.sh) is not labelled twice.
  const own = `[${spec.label}] `;
  const child = spawn(spec.command, [...spec.args], {
    env: spec.env ?? process.env,
    cwd: spec.cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forward = (stream: Readable, write: (line: string) => void, take?: (line: string) => boolean) => {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      if (!take?.(line)) write(`${prefix} ${line.startsWith(own) ? line.slice(own.length) : line}`);
    });
  };
  forward(child.stdout, options.output.out, options.takeLine);
  forward(child.stderr, options.output.err);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('error', (error) => resolve({ label: spec.label, code: null, signal: null, error: error.message }));
    child.once('exit', (code, signal) => resolve({ label: spec.label, code, signal }));
  });
  return {
    label: spec.label,
    pid: child.pid,
    exited,
    signal(signal) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    },
  };
}

export type SupervisionEnd =
  /** Every child ended after stop() or kill(). */
  | { kind: 'stopped'; exits: ChildExit[] }
  /** A child ended on its own (long-running children never should); the others were stopped. */
  | { kind: 'child_ended'; first: ChildExit; exits: ChildExit[] };

export interface Supervision {
  readonly children: readonly RunningChild[];
  readonly done: Promise<SupervisionEnd>;
  /** Sends `signal` to every child once; SIGKILL to whatever remains after the deadline. */
  stop(signal: NodeJS.Signals): void;
  /** SIGKILL to every child's process group, now. */
  kill(): void;
}

export interface SuperviseOptions {
  output: Output;
  stopDeadlineMs: number;
  /** The supervisor's own lines go out under this label. */
  label: string;
  /** Width the labels are padded to; by default the longest of these. */
  labelWidth?: number;
}

/** Runs long-lived children together: when one ends on its own, the others are stopped. */
export function supervise(specs: readonly ChildSpec[], options: SuperviseOptions): Supervision {
  const labelWidth = options.labelWidth ?? Math.max(options.label.length, ...specs.map((spec) => spec.label.length));
  const say = (line: string) => options.output.err(`${labelFor(options.label, labelWidth)} ${line}`);
  const children = specs.map((spec) => startChild(spec, { output: options.output, labelWidth }));
  let stopping = false;
  let deadline: NodeJS.Timeout | undefined;

  const kill = () => {
    for (const child of children) child.signal('SIGKILL');
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.signal(signal);
    deadline = setTimeout(() => {
      say(`still running ${options.stopDeadlineMs} ms after ${signal}: killing`);
      kill();
    }, options.stopDeadlineMs);
  };

  let firstUnexpected: ChildExit | undefined;
  for (const child of children) {
    void child.exited.then((exit) => {
      if (stopping) return;
      firstUnexpected = exit;
      say(`${exit.label} ended on its own (${describeExit(exit)}): stopping the others`);
      stop('SIGTERM');
    });
  }

  const done = Promise.all(children.map((child) => child.exited)).then((exits): SupervisionEnd => {
    clearTimeout(deadline);
    return firstUnexpected ? { kind: 'child_ended', first: firstUnexpected, exits } : { kind: 'stopped', exits };
  });
  return { children, done, stop, kill };
}

export function describeExit(exit: ChildExit): string {
  if (exit.error) return `could not start: ${exit.error}`;
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * Ctrl-C and SIGTERM: the first calls `stop`, a second one `kill`. Signals
 * within `sameSignalMs` of the first count as that one: under `npm start` a
 * Ctrl-C arrives twice, once from the terminal (to the whole foreground
 * process group) and once forwarded by npm.
 */
export function onInterrupt(handlers: { stop(signal: NodeJS.Signals): void; kill(): void }, sameSignalMs = 250): () => void {
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (first === undefined) {
      first = now;
      handlers.stop(signal);
    } else if (now - first > sameSignalMs) {
      handlers.kill();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
