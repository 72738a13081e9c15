/**
 * Gathering work into rounds: everything submitted in the same turn of the
 * event loop is handed to `run` together, once that turn is over. The batch
 * consumer uses it because kafkajs hands over a fetch's partition batches in
 * one turn: a round is then a whole fetch, written with one insert per table.
 *
 * Each submitter gets its own item's outcome; if the round fails, every
 * submitter in it gets that error. A round does not wait for the one before:
 * items submitted while a round runs form the next round after their turn.
 */
export type RoundRunner<T> = (items: T[]) => Promise<void>;

export function gatherRounds<T>(run: RoundRunner<T>): (item: T) => Promise<void> {
  let round: Array<{ item: T; settle: (error?: unknown) => void }> = [];

  async function runRound() {
    const members = round;
    round = [];
    try {
      await run(members.map((m) => m.item));
      for (const member of members) member.settle();
    } catch (error) {
      for (const member of members) member.settle(error);
    }
  }

  return (item) =>
    new Promise<void>((resolve, reject) => {
      round.push({ item, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      // setImmediate runs after the current turn's I/O callbacks and microtasks: the whole turn joins.
      if (round.length === 1) setImmediate(() => void runRound());
    });
}
