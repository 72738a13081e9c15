/**
 * Every project and live key, held in memory and reloaded whole every
 * `refreshMs`: a key check is a Map lookup, never a query, so a flood of
 * made-up keys costs the database nothing, and a revocation reaches every
 * API process within one refresh (plus the query's time).
 *
 * While ClickHouse is unreachable the last snapshot stays in force: ingestion
 * must not stop with the database, so a key revoked during an outage works
 * until the next successful refresh. Before the first snapshot, nothing is
 * known and callers say so (503), rather than refusing valid keys.
 */
import type { Logger } from '../logger.js';
import type { KeyStore, Project, StoredKey } from './key-store.js';

export interface KeySnapshot {
  keys: ReadonlyMap<string, StoredKey>;
  projects: ReadonlyMap<string, Project>;
  loadedAt: number;
}

export interface KeyCache {
  /** The current snapshot; undefined until the first load succeeded. */
  current(): KeySnapshot | undefined;
  /** Resolves with the first snapshot, or undefined after `waitMs` without one. */
  loaded(waitMs: number): Promise<KeySnapshot | undefined>;
  /** Reloads now (the admin routes, after a change, so their own process sees it at once). */
  refresh(): Promise<void>;
  close(): void;
}

export async function loadSnapshot(store: Pick<KeyStore, 'keys' | 'projects'>, now = Date.now()): Promise<KeySnapshot> {
  const [keys, projects] = await Promise.all([store.keys(), store.projects()]);
  return {
    keys: new Map(keys.filter((k) => k.revokedAt === null).map((k) => [k.keyId, k])),
    projects: new Map(projects.map((p) => [p.projectId, p])),
    loadedAt: now,
  };
}

export function createKeyCache(store: Pick<KeyStore, 'keys' | 'projects'>, options: { refreshMs: number; logger: Logger }): KeyCache {
  let snapshot: KeySnapshot | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failing = false;
  const waiters = new Set<(s: KeySnapshot) => void>();

  async function refresh(): Promise<void> {
    try {
      snapshot = await loadSnapshot(store);
      if (failing) options.logger.info('API keys reloaded');
      failing = false;
      for (const wake of waiters) wake(snapshot);
      waiters.clear();
    } catch (err) {
      if (!failing) options.logger.warn({ err }, 'cannot reload API keys; the last snapshot stays in force');
      failing = true;
    }
  }

  function schedule() {
    if (closed) return;
    timer = setTimeout(() => void refresh().finally(schedule), options.refreshMs);
    timer.unref();
  }
  void refresh().finally(schedule);

  return {
    current: () => snapshot,
    refresh,
    loaded(waitMs) {
      if (snapshot) return Promise.resolve(snapshot);
      return new Promise((resolve) => {
        const wake = (s: KeySnapshot | undefined) => {
          clearTimeout(deadline);
          waiters.delete(wake);
          resolve(s);
        };
        const deadline = setTimeout(() => wake(undefined), waitMs);
        waiters.add(wake);
      });
    },
    close() {
      closed = true;
      clearTimeout(timer);
    },
  };
}
