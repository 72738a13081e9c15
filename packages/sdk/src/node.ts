/**
 * The SDK in Node.js: the queue in memory (bounded), flushed by count and on
 * an interval; close() delivers what it can within a deadline, and so does
 * SIGTERM unless `flushOnSignals` is false. Our SIGTERM listener must not
 * keep the process alive: after the flush, when no other listener handles
 * the signal, it is raised again and the process ends as it would have.
 */
import { Client, type Item, type Options, type StreamTrack } from './client.js';

export type { DeliveryResult, EventError, Options, Properties, StreamTrack, TrackOptions, WireEvent } from './client.js';

export interface NodeOptions extends Options {
  /** Flush and close on SIGTERM and SIGINT (default true). */
  flushOnSignals?: boolean;
  /** The deadline of that flush (default 5000 ms). */
  closeTimeoutMs?: number;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export function createStreamTrack(options: NodeOptions): StreamTrack {
  const ids = new Map<string, string | undefined>();
  const client = new Client(options, {
    persistence: {
      loadQueue: (): Item[] => [],
      saveQueue: () => undefined,
      get: (name) => ids.get(name),
      set: (name, value) => void ids.set(name, value),
    },
    contentType: 'application/json',
    visitor: false,
    context: () => ({}),
    page: () => ({}),
  });
  if (options.flushOnSignals === false) return client;

  const timeoutMs = options.closeTimeoutMs ?? 5000;
  const detach = () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    detach();
    void client.close(timeoutMs).then(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  const close = client.close.bind(client);
  client.close = (ms = timeoutMs) => {
    detach();
    return close(ms);
  };
  return client;
}
