import { describe, expect, it } from 'vitest';
import { AbandonedError, type RoundContext } from '../../kafka/round-handlers.js';
import { createLogger } from '../../logger.js';
import { attempt, ok, retry, runStep, type Step, type StepOutcome } from './step.js';

const logger = createLogger('silent', 'step-test');

function roundContext() {
  const abort = new AbortController();
  let owned = true;
  const context: RoundContext = { owned: () => owned && !abort.signal.aborted, signal: abort.signal, progress: () => undefined };
  return { context, abort: (reason?: unknown) => abort.abort(reason), revoke: () => (owned = false) };
}

/** A step answering from a script of outcomes, one per attempt. */
function scripted(outcomes: Array<StepOutcome<string>>, policy: Step<string, string>['retry'] = { initialDelayMs: 1, maxDelayMs: 4 }) {
  const attempts: number[] = [];
  const step: Step<string, string> = {
    name: 'store raw',
    retry: policy,
    run: async (_, n) => {
      attempts.push(n);
      return outcomes[Math.min(n, outcomes.length) - 1]!;
    },
  };
  return { step, attempts };
}

const clickHouseDown = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const refusedValue = Object.assign(new Error('Cannot parse input'), { code: '27' });

describe('runStep', () => {
  it('retries a retriable outcome by the step\'s policy until one is ok', async () => {
    const { step, attempts } = scripted([retry(clickHouseDown), retry(clickHouseDown), ok('stored')]);
    const observed: string[] = [];
    const { context } = roundContext();
    await expect(runStep(step, 'rows', { round: context, logger, observed: (_, __, outcome) => void observed.push(outcome) })).resolves.toBe('stored');
    expect(attempts).toEqual([1, 2, 3]);
    expect(observed).toEqual(['retry', 'retry', 'ok']);
  });

  it('classes errors: retriable for the network, deterministic for data the table refuses', () => {
    expect(retry(clickHouseDown).class).toBe('retriable');
    expect(retry(refusedValue).class).toBe('deterministic');
  });

  it('turns what a step\'s work throws into a retry outcome', async () => {
    await expect(attempt(async () => Promise.reject(clickHouseDown))).resolves.toMatchObject({ kind: 'retry', class: 'retriable' });
    await expect(attempt(async () => 3)).resolves.toEqual({ kind: 'ok', value: 3 });
  });

  it('does not retry a step whose policy is never', async () => {
    const { step, attempts } = scripted([retry(refusedValue), ok('late')], 'never');
    await expect(runStep(step, 'rows', { round: roundContext().context, logger })).rejects.toBe(refusedValue);
    expect(attempts).toEqual([1]);
  });

  it('stops waiting the moment the round is abandoned, and never attempts for a round no longer owned', async () => {
    const { step, attempts } = scripted([retry(clickHouseDown)], { initialDelayMs: 60_000, maxDelayMs: 60_000 });
    const { context, abort, revoke } = roundContext();
    const running = runStep(step, 'rows', { round: context, logger });
    await new Promise((resolve) => setImmediate(resolve));
    abort(new AbandonedError('the shutdown grace ran out'));
    await expect(running).rejects.toThrow('the shutdown grace ran out');
    expect(attempts).toEqual([1]);

    const again = roundContext();
    again.revoke();
    revoke();
    await expect(runStep(step, 'rows', { round: again.context, logger })).rejects.toBeInstanceOf(AbandonedError);
    expect(attempts).toEqual([1]);
  });
});
