import { afterEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '../testing/wait-for.js';
import { onInterrupt, supervise, type ChildSpec, type Output } from './supervisor.js';
import { isAlive } from '../testing/processes.js';

/** A node child running `code`; it prints `ready` once its handlers are installed. */
function node(label: string, code: string): ChildSpec {
  return { label, command: process.execPath, args: ['-e', code] };
}

const STOPS_ON_SIGTERM = `
  process.on('SIGTERM', () => { console.log('stopping'); process.exit(0); });
  console.log('ready'); setInterval(() => {}, 1000);`;
const IGNORES_SIGTERM = `process.on('SIGTERM', () => console.log('ignored')); console.log('ready'); setInterval(() => {}, 1000);`;

function capture(): Output & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (line) => lines.push(line), err: (line) => lines.push(line) };
}

const readyCount = (lines: string[], n: number) => (lines.filter((l) => l.endsWith(' ready')).length >= n ? true : undefined);

describe('supervise', () => {
  it('labels each line of each child, interleaved as they come', async () => {
    const output = capture();
    const supervision = supervise(
      [node('api', `console.log('one'); console.error('two'); setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0));`), node('worker', STOPS_ON_SIGTERM)],
      { output, stopDeadlineMs: 5_000, label: 'start' },
    );
    await waitFor(() => (output.lines.includes('[api]    two') && readyCount(output.lines, 1) ? true : undefined), { timeoutMs: 10_000 });
    supervision.stop('SIGTERM');
    const end = await supervision.done;
    expect(end.kind).toBe('stopped');
    expect(end.exits.map((e) => [e.label, e.code])).toEqual([['api', 0], ['worker', 0]]);
    expect(output.lines).toEqual(expect.arrayContaining(['[api]    one', '[api]    two', '[worker] ready', '[worker] stopping']));
  });

  it('stops the other children when one ends on its own', async () => {
    const output = capture();
    const supervision = supervise([node('api', 'setTimeout(() => process.exit(3), 200)'), node('worker', STOPS_ON_SIGTERM)], {
      output,
      stopDeadlineMs: 5_000,
      label: 'start',
    });
    const end = await supervision.done;
    expect(end.kind).toBe('child_ended');
    expect(end.kind === 'child_ended' && end.first).toMatchObject({ label: 'api', code: 3 });
    expect(end.exits[1]).toMatchObject({ label: 'worker' });
    expect(output.lines.some((l) => l.startsWith('[start]') && l.includes('api ended on its own (exit code 3)'))).toBe(true);
  });

  it('kills a child still running at the deadline, and what it started', async () => {
    const output = capture();
    // The child starts a grandchild that would outlive it, then ignores SIGTERM.
    const code = `
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      console.log('grandchild ' + grandchild.pid);
      ${IGNORES_SIGTERM}`;
    const supervision = supervise([node('stubborn', code)], { output, stopDeadlineMs: 300, label: 'start' });
    await waitFor(() => readyCount(output.lines, 1), { timeoutMs: 10_000 });
    const grandchild = Number(/grandchild (\d+)/.exec(output.lines.join('\n'))?.[1]);
    expect(isAlive(grandchild)).toBe(true);
    supervision.stop('SIGTERM');
    const end = await supervision.done;
    expect(end.exits[0]).toMatchObject({ label: 'stubborn', signal: 'SIGKILL' });
    expect(output.lines).toContain('[stubborn] ignored');
    await waitFor(() => (isAlive(grandchild) ? undefined : true), { timeoutMs: 5_000, what: 'the grandchild gone' });
  });

  it('kill() ends every child at once', async () => {
    const output = capture();
    const supervision = supervise([node('a', IGNORES_SIGTERM), node('b', IGNORES_SIGTERM)], {
      output,
      stopDeadlineMs: 60_000,
      label: 'start',
    });
    await waitFor(() => readyCount(output.lines, 2), { timeoutMs: 10_000 });
    // A stop the children ignore (SIGTERM), so only kill() can end them: a SIGINT could win the race.
    supervision.stop('SIGTERM');
    supervision.kill();
    const end = await supervision.done;
    expect(end.exits.map((e) => e.signal)).toEqual(['SIGKILL', 'SIGKILL']);
  });

  it('reports a command that cannot start', async () => {
    const supervision = supervise([{ label: 'missing', command: '/nonexistent/streamtrack', args: [] }], {
      output: capture(),
      stopDeadlineMs: 1_000,
      label: 'start',
    });
    const end = await supervision.done;
    expect(end.kind).toBe('child_ended');
    expect(end.exits[0]?.error).toMatch(/ENOENT/);
  });
});

describe('onInterrupt', () => {
  let remove: (() => void) | undefined;
  afterEach(() => {
    remove?.();
    vi.useRealTimers();
  });

  it('takes a signal repeated at once (npm forwarding the terminal Ctrl-C) as one, and a later one as "kill now"', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const stop = vi.fn<(signal: NodeJS.Signals) => void>();
    const kill = vi.fn<() => void>();
    remove = onInterrupt({ stop, kill }, 250);
    process.emit('SIGINT', 'SIGINT');
    vi.setSystemTime(1_000_010);
    process.emit('SIGINT', 'SIGINT');
    expect(stop).toHaveBeenCalledTimes(1);
    expect(stop).toHaveBeenCalledWith('SIGINT');
    expect(kill).not.toHaveBeenCalled();
    vi.setSystemTime(1_001_000);
    process.emit('SIGTERM', 'SIGTERM');
    expect(kill).toHaveBeenCalledTimes(1);
  });
});
