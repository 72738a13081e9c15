/**
 * A cap on things held at once (long-polls, say), per key: `tryAcquire(key)`
 * takes a slot and returns its release, or returns undefined when the key
 * already holds `max` slots, so the caller refuses at once instead of
 * queueing. One instance with a single key caps a process; keyed by an API
 * key, it caps each client. Releasing twice frees one slot.
 */
export type Release = () => void;

export interface ConcurrencyLimit {
  readonly max: number;
  tryAcquire(key?: string): Release | undefined;
  /** Slots the key holds now. */
  held(key?: string): number;
}

const PROCESS = '';

export function createConcurrencyLimit(max: number): ConcurrencyLimit {
  // Keys with no slot held are deleted, so the map holds only keys in use.
  const counts = new Map<string, number>();
  return {
    max,
    tryAcquire(key = PROCESS) {
      const count = counts.get(key) ?? 0;
      if (count >= max) return undefined;
      counts.set(key, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(key) ?? 1) - 1;
        if (left === 0) counts.delete(key);
        else counts.set(key, left);
      };
    },
    held: (key = PROCESS) => counts.get(key) ?? 0,
  };
}
