/**
 * The live events of one API process: a tail of the events topic (started by
 * the first stream, stopped `idleMs` after the last one closed), its Avro
 * records decoded as the worker decodes them, fanned out by the hub. An
 * undecodable record is skipped here (the worker dead-letters it); the
 * streams open at once are counted per process and per key.
 */
import type { Kafka } from 'kafkajs';
import type { Config, LiveLimits } from '../config.js';
import type { Logger } from '../logger.js';
import { startTopicTail, type TailRecord, type TopicTail } from '../kafka/topic-tail.js';
import type { EventDecoder } from '../serde/event-decoder.js';
import type { StoredEvent } from '../storage/events-table.js';
import type { TrackedEvent } from '../model/event.js';
import { createHub, type LiveEvent, type LiveFilter, type Position, type Stream } from './hub.js';

export interface LiveEventsDeps {
  kafka: Kafka;
  /** Made on first use: the reader schema is read from disk. */
  decoder: () => Promise<EventDecoder>;
  logger: Logger;
  /** Streams open now, and events dropped for readers that fell behind (the metrics). */
  observe?: { streams(open: number): void; dropped(count: number): void };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** An event as /activities answers it, so a client reads one shape. */
export function asStoredEvent(event: TrackedEvent): StoredEvent {
  return { ...event, timestamp: iso(event.timestamp)!, sent_at: iso(event.sent_at), received_at: iso(event.received_at)! };
}

export type OpenOutcome = { ok: true; stream: Stream } | { ok: false; reason: 'process_full' | 'key_full' | 'unavailable'; message: string };

export function createLiveEvents(config: Pick<Config['kafka'], 'eventsTopic' | 'liveGroupPrefix'>, limits: LiveLimits, deps: LiveEventsDeps) {
  const hub = createHub(limits);
  const perKey = new Map<string, number>();
  /** Open streams, each with how to end its connection at shutdown (a reader that does not read never lets it end by itself). */
  const streams = new Map<Stream, () => void>();
  let open = 0;
  let tail: Promise<TopicTail> | undefined;
  let positioned: Promise<void> | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  const log = deps.logger.child({ component: 'live-events' });

  async function decodeAll(records: TailRecord[]): Promise<LiveEvent[]> {
    const decode = await deps.decoder();
    const events: LiveEvent[] = [];
    for (const record of records) {
      if (!record.value) continue;
      try {
        const { event } = await decode(record.value);
        events.push({ partition: record.partition, offset: record.offset, event: asStoredEvent(event) });
      } catch (error) {
        log.debug({ err: error, partition: record.partition, offset: record.offset }, 'record not shown live: it does not decode');
      }
    }
    return events;
  }

  function startTail(): Promise<void> {
    positioned ??= new Promise<void>((resolve, reject) => {
      tail = startTopicTail(deps.kafka, config.eventsTopic, config.liveGroupPrefix, {
        ready(next) {
          hub.positioned(next);
          resolve();
        },
        async records(records) {
          hub.publish(await decodeAll(records));
        },
        failed(error) {
          log.warn({ err: error }, 'the live tail stopped');
          reject(error);
          void stopTail();
        },
      });
      tail.catch((error: unknown) => {
        reject(error as Error);
        void stopTail();
      });
    });
    return positioned;
  }

  async function stopTail() {
    const stopping = tail;
    tail = undefined;
    positioned = undefined;
    hub.reset();
    await stopping?.then((t) => t.stop(), () => undefined);
  }

  function release(subject: string | undefined) {
    open--;
    deps.observe?.streams(open);
    if (subject !== undefined) {
      const n = (perKey.get(subject) ?? 1) - 1;
      if (n === 0) perKey.delete(subject);
      else perKey.set(subject, n);
    }
    if (open === 0) {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => void stopTail(), limits.idleMs);
      idleTimer.unref();
    }
  }

  return {
    /**
     * A stream for `filter` (from `since`, a position of an earlier stream),
     * once the tail is positioned; refused when as many are open as allowed
     * (`subject`: the key's, undefined where keys are not counted).
     */
    async open(filter: LiveFilter, subject: string | undefined, since: Position | undefined, onShutdown: () => void): Promise<OpenOutcome> {
      if (open >= limits.maxConnections) {
        return { ok: false, reason: 'process_full', message: `this API process serves ${limits.maxConnections} live streams at once (API_LIVE_MAX_CONNECTIONS)` };
      }
      if (subject !== undefined && (perKey.get(subject) ?? 0) >= limits.maxConnectionsPerKey) {
        return { ok: false, reason: 'key_full', message: `this key has ${limits.maxConnectionsPerKey} live streams open (API_LIVE_MAX_CONNECTIONS_PER_KEY)` };
      }
      open++;
      deps.observe?.streams(open);
      if (subject !== undefined) perKey.set(subject, (perKey.get(subject) ?? 0) + 1);
      clearTimeout(idleTimer);
      try {
        await startTail();
      } catch (error) {
        release(subject);
        return { ok: false, reason: 'unavailable', message: `the events topic cannot be read: ${(error as Error).message}` };
      }
      const stream = hub.subscribe(filter, since);
      const counted: Stream = {
        ...stream,
        take() {
          const items = stream.take();
          const dropped = items.find((item) => item.kind === 'dropped');
          if (dropped?.kind === 'dropped') deps.observe?.dropped(dropped.count);
          return items;
        },
        close() {
          if (!streams.delete(counted)) return;
          stream.close();
          release(subject);
        },
      };
      streams.set(counted, onShutdown);
      return { ok: true, stream: counted };
    },
    /** Ends every stream (their readers see the response end) and stops the tail: before the server closes. */
    async close() {
      for (const [stream, end] of [...streams]) {
        stream.close();
        end();
      }
      clearTimeout(idleTimer);
      await stopTail();
    },
  };
}

export type LiveEvents = ReturnType<typeof createLiveEvents>;
