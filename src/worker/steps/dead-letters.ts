/**
 * Step `dead letters`: records set aside by another step (undecodable, or
 * refused by a table) to the dead-letter topic with their reason, before the
 * round can commit, so nothing leaves the partition without a trace.
 */
import type { DeadLetter, DeadLetterSink } from '../../kafka/dead-letters.js';
import { SINK_RETRY, attempt, type Step } from './step.js';

export function createDeadLettersStep(sink: DeadLetterSink): Step<DeadLetter[], void> {
  return { name: 'dead letters', retry: SINK_RETRY, run: (letters) => attempt(() => sink.send(letters)) };
}
