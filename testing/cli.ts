/**
 * The `streamtrack` command line as an operator runs it (`node --import tsx
 * src/cli.ts ...`) in a child process with a test's environment: its output
 * and the contract every management command keeps, the result alone on the
 * last line of stdout.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from './services.js';

const run = promisify(execFile);

export interface CliResult {
  stdout: string;
  /** The last line of stdout: the new key, secret or name. */
  last: string;
}

/** Runs one command; rejects (with its stderr) when it exits with other than 0. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<CliResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  const lines = stdout.trimEnd().split('\n');
  return { stdout, last: lines[lines.length - 1]!.trim() };
}
