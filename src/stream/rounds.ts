/**
 * Gathering work into rounds: everything that arrives in the same turn of
 * the event loop forms one round, emitted once that turn is over. The round
 * driver uses it because kafkajs hands over a fetch's partition batches in
 * one turn: a round is then a whole fetch, written with one insert per table.
 * What arrives later forms the next round; how rounds are run (one at a
 * time, in order) is the consumer's choice (concatMap in round-driver.ts).
 */
import { audit, buffer, connect, Observable, type OperatorFunction } from 'rxjs';

/** Emits at the next turn: setImmediate runs after the current turn's I/O callbacks and microtasks, so the whole turn joins. */
function nextTurn(): Observable<void> {
  return new Observable<void>((subscriber) => {
    const turn = setImmediate(() => {
      subscriber.next();
      subscriber.complete();
    });
    return () => clearImmediate(turn);
  });
}

/** The items of each turn of the event loop, as one array, in arrival order. */
export function byTurn<T>(): OperatorFunction<T, T[]> {
  return connect((items) => items.pipe(buffer(items.pipe(audit(nextTurn)))));
}
