/**
 * The shape of the worker's pipeline steps (in the spirit of PostHog's
 * ingestion steps): each is a named factory returning a `Step`, whose run
 * returns an outcome value rather than throwing:
 *
 * - per record: `ok`, `dead-letter` (it cannot be read: to the dead-letter
 *   topic) or `quarantine` (the table refuses it: to the dead-letter topic
 *   with ClickHouse's reason);
 * - per step: `ok`, or `retry` (the same input may succeed later), which
 *   `runStep` retries by the step's own policy, for as long as the round is
 *   this member's and the shutdown grace lasts.
 *
 * A step that cannot fail (a pure fold) has the policy `never`.
 */
import { defer, firstValueFrom, from, fromEvent, map, of, retry as retryAttempts, take, takeUntil, throwError, throwIfEmpty, timer, type Observable } from 'rxjs';
import { AbandonedError, type RoundContext } from '../../kafka/round-handlers.js';
import type { Logger } from '../../logger.js';
import { backoffDelay, type BackoffPolicy } from '../../stream/backoff.js';
import { classifyWriteError, type WriteErrorClass } from '../../storage/write-errors.js';

export type Ok<T> = { kind: 'ok'; value: T };
export type DeadLettered = { kind: 'dead-letter'; reason: string };
export type Quarantined = { kind: 'quarantine'; reason: string };
export type Retry = { kind: 'retry'; error: unknown; class: WriteErrorClass };

/** What became of one record. */
export type RecordOutcome<T> = Ok<T> | DeadLettered | Quarantined;
/** What became of a step's whole input. */
export type StepOutcome<T> = Ok<T> | Retry;

export const ok = <T>(value: T): Ok<T> => ({ kind: 'ok', value });
export const deadLetter = (reason: string): DeadLettered => ({ kind: 'dead-letter', reason });
export const quarantine = (reason: string): Quarantined => ({ kind: 'quarantine', reason });
export const retry = (error: unknown): Retry => ({ kind: 'retry', error, class: classifyWriteError(error) });

/** How a step's `retry` is retried: backoff (deterministic errors wait the longest delay from the start), or never. */
export type RetryPolicy = BackoffPolicy | 'never';

/** Sink writes: ClickHouse restarting or overloaded delays the partition rather than failing it. */
export const SINK_RETRY: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 10_000 };
/** Lookups in the registry and ClickHouse: quick to try again. */
export const LOOKUP_RETRY: RetryPolicy = { initialDelayMs: 100, maxDelayMs: 5_000 };

/** The step names, also the `sink` label of its write metrics where it writes one. */
export type StepName =
  | 'resume'
  | 'decode'
  | 'dead letters'
  | 'dedupe'
  | 'store raw'
  | 'fold windows'
  | 'write window results'
  | 'checkpoint';

export interface Step<In, Out> {
  name: StepName;
  retry: RetryPolicy;
  run(input: In, attempt: number): Promise<StepOutcome<Out>>;
}

/** Runs `work`, turning what it throws into a `retry` outcome. */
export async function attempt<T>(work: () => Promise<T>): Promise<StepOutcome<T>> {
  try {
    return ok(await work());
  } catch (error) {
    return retry(error);
  }
}

export interface StepRun {
  round: RoundContext;
  logger: Logger;
  /** After every attempt, whatever its outcome: metrics. */
  observed?(step: StepName, seconds: number, outcome: 'ok' | 'retry'): void;
}

function abandoned(round: RoundContext): AbandonedError {
  const reason: unknown = round.signal.reason;
  return reason instanceof AbandonedError ? reason : new AbandonedError('the round is no longer this member\'s');
}

/** Emits once the round is abandoned (at once if it already is). */
function abandonment(round: RoundContext): Observable<unknown> {
  return defer(() => (round.signal.aborted ? of(round.signal.reason) : fromEvent(round.signal, 'abort').pipe(take(1))));
}

/** A `retry` outcome as the error of an attempt, for RxJS' `retry` to see. */
class RetryOutcome extends Error {
  constructor(readonly outcome: Retry) {
    super('retry');
  }
}

/**
 * A step's attempts until one is ok: `defer(attempt)` retried with the
 * step's backoff. Before each attempt the round must still be this member's
 * (a revoked round writes nothing more); once it is abandoned, the attempt
 * or wait under way is unsubscribed (the work is not waited for) and the
 * step fails with AbandonedError.
 */
export function runStep<In, Out>(step: Step<In, Out>, input: In, run: StepRun): Promise<Out> {
  let n = 0;
  const attempt = defer(() => {
    if (!run.round.owned()) return throwError(() => abandoned(run.round));
    const started = performance.now();
    return from(step.run(input, ++n)).pipe(
      map((outcome) => {
        run.observed?.(step.name, (performance.now() - started) / 1000, outcome.kind);
        if (outcome.kind === 'ok') return outcome.value;
        throw step.retry === 'never' ? outcome.error : new RetryOutcome(outcome);
      }),
    );
  });
  const backoff = (error: unknown, retries: number): Observable<unknown> => {
    if (!(error instanceof RetryOutcome) || step.retry === 'never') return throwError(() => error);
    const { outcome } = error;
    if (outcome.class === 'deterministic') run.logger.error({ err: outcome.error, attempt: retries, step: step.name }, 'step failed with an error retrying cannot fix; retrying slowly');
    else run.logger.warn({ err: outcome.error, attempt: retries, step: step.name }, 'step failed; retrying');
    return timer(outcome.class === 'retriable' ? backoffDelay(step.retry, retries) : step.retry.maxDelayMs);
  };
  return firstValueFrom(
    attempt.pipe(
      retryAttempts({ delay: backoff }),
      takeUntil(abandonment(run.round)),
      throwIfEmpty(() => abandoned(run.round)),
    ),
  );
}
