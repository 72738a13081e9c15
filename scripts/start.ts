/**
 * `npm start`: StreamTrack on one machine, in one terminal.
 *
 * With no service address in the environment (KAFKA_BROKERS,
 * SCHEMA_REGISTRY_URL, CLICKHOUSE_URL all unset) it brings up the native
 * services (scripts/services.sh), applies migrations, topics and schemas
 * (`init`), then runs the API and one worker, with STREAMTRACK_AUTH=open
 * unless set. With addresses it runs only the API and the worker, as they
 * are configured (`npm run init` is then the operator's step: it needs the
 * rights to create tables and topics, which the two processes need not have).
 *
 * It first builds the web UI into dist/ui (`npm run build:ui`), which the API
 * serves under /ui. Output is interleaved line by line under a label ([ui],
 * [services], [init], [api], [worker]). Ctrl-C (or SIGTERM) stops the processes, then the
 * services this run started (ones already running are left as they were); a
 * second Ctrl-C kills all of it at once. Exit code: 0 after a requested
 * stop, 1 when a part failed or ended on its own, 130 when killed.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  consoleOutput,
  describeExit,
  labelFor,
  onInterrupt,
  startChild,
  supervise,
  type ChildExit,
  type ChildSpec,
  type RunningChild,
  type Supervision,
} from './supervisor.js';
import { parseExport, planStart } from './start-plan.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVICES = ['kafka', 'schema-registry', 'clickhouse'] as const;
/** Past the processes' own shutdown deadline (25 s, src/cli.ts), so they normally end first. */
const STOP_DEADLINE_MS = 30_000;
const LABEL_WIDTH = 'services'.length;
const SELF = 'start';

const say = (line: string) => consoleOutput.err(`${labelFor(SELF, LABEL_WIDTH)} ${line}`);

/** `node <flags> src/cli.ts <command>` on this Node, as the start:* scripts run it. */
function streamtrack(command: 'api' | 'worker' | 'init', env: NodeJS.ProcessEnv): ChildSpec {
  return {
    label: command,
    command: process.execPath,
    args: ['--max-semi-space-size=64', '--import', 'tsx', 'src/cli.ts', command],
    env,
    cwd: ROOT,
  };
}

/** The web UI (scripts/build-ui.ts) into dist/ui, which the API serves under /ui. */
function uiBuild(): ChildSpec {
  return { label: 'ui', command: process.execPath, args: ['--import', 'tsx', 'scripts/build-ui.ts'], cwd: ROOT };
}

function servicesScript(args: string[]): ChildSpec {
  return { label: 'services', command: 'bash', args: ['scripts/services.sh', ...args], cwd: ROOT };
}

/** Native services not running now: the ones this run starts, and so stops. */
function servicesNotRunning(): string[] {
  return SERVICES.filter(
    (name) => spawnSync('bash', ['scripts/services.sh', 'status', name], { cwd: ROOT, stdio: 'ignore' }).status !== 0,
  );
}

let stopRequested = false;
let killed = false;
/** What runs now: a one-shot step or the supervised processes. */
let current: RunningChild | Supervision | undefined;

/** Runs a one-shot step to its end; true when it succeeded. Skipped once a stop is requested, unless `whileStopping`. */
async function step(spec: ChildSpec, takeLine?: (line: string) => boolean, whileStopping = false): Promise<boolean> {
  if (stopRequested && !whileStopping) return false;
  const child = startChild(spec, { output: consoleOutput, labelWidth: LABEL_WIDTH, ...(takeLine ? { takeLine } : {}) });
  current = child;
  const exit = await child.exited;
  current = undefined;
  if (exit.code === 0) return true;
  if (!stopRequested) say(`${spec.label} failed (${describeExit(exit)})`);
  return false;
}

async function main(): Promise<number> {
  const plan = planStart(process.env);
  const env = plan.env;
  let owned: string[] = [];

  onInterrupt({
    stop(signal) {
      stopRequested = true;
      say(`${signal}: stopping (Ctrl-C again to kill at once)`);
      if (current && 'stop' in current) current.stop(signal);
      else current?.signal('SIGTERM');
    },
    kill() {
      killed = true;
      say('killing everything now');
      if (current && 'kill' in current) current.kill();
      else current?.signal('SIGKILL');
      if (owned.length > 0) spawnSync('bash', ['scripts/services.sh', 'kill', ...owned], { cwd: ROOT, stdio: 'inherit' });
      process.exit(130);
    },
  });

  // A second: the UI as the sources are now. Without it the API still runs, and /ui says how to build it.
  if (!(await step(uiBuild())) && !stopRequested) say('the UI did not build (above): /ui answers a page saying so; the API runs anyway');

  let failed = false;
  if (plan.kind === 'native') {
    owned = servicesNotRunning();
    say(
      `no service addresses configured: native services (scripts/services.sh)` +
        (owned.length < SERVICES.length ? `; already running, left running: ${SERVICES.filter((s) => !owned.includes(s)).join(', ')}` : ''),
    );
    // `up` prints the addresses as `export NAME=value` lines on stdout.
    const takeExport = (line: string) => {
      const address = parseExport(line);
      if (address) env[address[0]] = address[1];
      return address !== undefined;
    };
    const ready = (await step(servicesScript(['up']), takeExport)) && (await step(streamtrack('init', env)));
    // A step cut short by Ctrl-C is not a failure.
    failed = !ready && !stopRequested;
  } else {
    say(`service addresses from the environment (${plan.configured.join(', ')}): running the API and one worker`);
  }

  if (!failed && !stopRequested) {
    const supervision = supervise([streamtrack('api', env), streamtrack('worker', env)], {
      output: consoleOutput,
      stopDeadlineMs: STOP_DEADLINE_MS,
      label: SELF,
      labelWidth: LABEL_WIDTH,
    });
    current = supervision;
    say(
      `api (port ${env.API_PORT ?? '8080'}) and worker started` +
        (env.STREAMTRACK_AUTH ? ` with STREAMTRACK_AUTH=${env.STREAMTRACK_AUTH}` : '') +
        '; Ctrl-C stops them',
    );
    const end = await supervision.done;
    current = undefined;
    // Ended by the signal it was sent (a process still loading has no handler yet) is a clean stop.
    const clean = (exit: ChildExit) => exit.code === 0 || (stopRequested && (exit.signal === 'SIGINT' || exit.signal === 'SIGTERM'));
    failed = end.kind === 'child_ended' || !end.exits.every(clean);
    for (const exit of end.exits) if (!clean(exit)) say(`${exit.label}: ${describeExit(exit)}`);
  }

  if (owned.length > 0 && !killed) {
    say(`stopping the services this run started: ${owned.join(', ')}`);
    if (!(await step(servicesScript(['down', ...owned]), undefined, true))) failed = true;
  }
  say(failed ? 'stopped, after a failure (above)' : 'stopped cleanly');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
