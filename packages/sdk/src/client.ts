/**
 * The SDK's engine, the same in browsers and Node: calls become events in a
 * bounded queue; batches leave by count and by time, one request at a time;
 * each event leaves the queue only on a final answer (accepted, or refused by
 * the server), or when a bound drops it, and every such outcome reaches
 * `onResult`. Retries back off exponentially with full jitter and honour
 * Retry-After. No public method throws: the host page or process never sees
 * an exception of ours.
 */
import type { Answer, EventError } from './answer.js';
import { retryDelay, type BackoffPolicy } from './backoff.js';
import { ACTIONS, LIBRARY, flatProperties, type EventContext, type MessageType, type Properties, type WireEvent } from './events.js';
import { postBatch, type TransportOptions } from './transport.js';
import { uuidv7 } from './uuid.js';

export type { EventError, Properties, WireEvent };

export type DeliveryResult =
  | { status: 'accepted'; event_id: string; action: string; warnings?: string[] }
  | { status: 'refused'; event_id: string; action: string; errors: EventError[] }
  | { status: 'dropped'; event_id: string; action: string; reason: 'queue_full' | 'max_attempts' | 'closed' };

export interface Options {
  /** A write key (`st_wk_…`): public, it may sit in a page. */
  writeKey: string;
  /** The API's base URL, e.g. `https://track.example.com`. */
  host: string;
  /** A batch leaves as soon as this many events wait (default 20). */
  flushAt?: number;
  /** …or this long after the first of them (default 5000 ms). */
  flushIntervalMs?: number;
  /** Events in one request at most (default 100). */
  maxBatchEvents?: number;
  /** Bytes of one request's body at most (default 60,000: under the 64 KiB of a beacon or keepalive fetch). */
  maxBatchBytes?: number;
  /** An event larger than this is refused on the spot, never queued (default 32,768: the API's limit). */
  maxEventBytes?: number;
  /** Events held at most; beyond, the oldest is dropped (default 1000). */
  maxQueueEvents?: number;
  /** Answers (or timeouts) after which an event is dropped (default 10). Failures to connect do not count: offline periods keep the queue. */
  maxAttempts?: number;
  /** A request not answered within this is abandoned and retried (default 10,000 ms). */
  requestTimeoutMs?: number;
  backoff?: Partial<BackoffPolicy>;
  /** Every event's final outcome, once. */
  onResult?: (result: DeliveryResult) => void;
}

export interface TrackOptions {
  /** Whose event; default the identified user, else the anonymous id. */
  userId?: string;
  /** When it happened (default now). */
  timestamp?: Date | number;
}

export interface Item {
  e: WireEvent;
  /** Attempts the server answered (or that timed out). */
  n: number;
}

/** Where the queue and the ids live: localStorage in a browser, memory in Node. */
export interface Persistence {
  loadQueue(): Item[];
  saveQueue(items: Item[]): void;
  get(name: 'anonymous_id' | 'user_id'): string | undefined;
  set(name: 'anonymous_id' | 'user_id', value: string | undefined): void;
}

export interface Platform {
  persistence: Persistence;
  /**
   * Whether the client's anonymous id is one visitor's (a browser's): then an
   * identify carries it and the server links it to the user. A Node client
   * serves many users; its anonymous id is nobody's to link.
   */
  visitor: boolean;
  contentType: string;
  /** Where an event happens: user agent, locale, page URL. */
  context(): Omit<EventContext, 'library'>;
  /** What a `page` call records about the page by itself: URL, path, title, referrer. */
  page(): Properties;
}

/** The SDK's surface, the same in browsers and Node. */
export interface StreamTrack {
  track(action: string, properties?: Properties, options?: TrackOptions): string | undefined;
  identify(userId: string, traits?: Properties): string | undefined;
  alias(userId: string, previousId?: string): string | undefined;
  page(name?: string, properties?: Properties): string | undefined;
  reset(): void;
  flush(): Promise<void>;
  close(timeoutMs?: number): Promise<void>;
  pending(): WireEvent[];
  readonly anonymousId: string;
  readonly userId: string | undefined;
}

const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 60_000, maxRetryAfterMs: 300_000 };
const encoder = new TextEncoder();

function bytes(value: unknown): number {
  return encoder.encode(JSON.stringify(value)).length;
}

export class Client implements StreamTrack {
  readonly options: Required<Omit<Options, 'onResult' | 'backoff'>> & { backoff: BackoffPolicy };
  readonly transport: TransportOptions;
  private queue: Item[];
  private readonly inFlight = new Set<Item>();
  private sending: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  /** Consecutive failed requests: the backoff's exponent. */
  private failures = 0;
  private retryAt = 0;
  /** After a 413, batches of at most this many events until the queue is empty. */
  private splitTo = Infinity;
  private closed = false;
  /** Aborted when close() gives up: requests in flight stop with it. */
  private readonly stopped = new AbortController();

  private readonly onResult: ((result: DeliveryResult) => void) | undefined;

  /** Throws a TypeError when `writeKey` or `host` is not a string: a set-up error, the one exception the SDK raises. */
  constructor(
    options: Options,
    private readonly platform: Platform,
  ) {
    if (typeof options?.writeKey !== 'string' || typeof options.host !== 'string') throw new TypeError('StreamTrack: writeKey and host must be strings');
    this.options = {
      writeKey: options.writeKey,
      host: options.host,
      flushAt: options.flushAt ?? 20,
      flushIntervalMs: options.flushIntervalMs ?? 5000,
      maxBatchEvents: options.maxBatchEvents ?? 100,
      maxBatchBytes: options.maxBatchBytes ?? 60_000,
      maxEventBytes: options.maxEventBytes ?? 32_768,
      maxQueueEvents: options.maxQueueEvents ?? 1000,
      maxAttempts: options.maxAttempts ?? 10,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    };
    this.onResult = options.onResult;
    this.transport = {
      url: `${options.host.replace(/\/+$/, '')}/track`,
      writeKey: options.writeKey,
      contentType: platform.contentType,
      timeoutMs: this.options.requestTimeoutMs,
      maxAnswerBytes: 1_000_000,
    };
    this.queue = platform.persistence.loadQueue().slice(-this.options.maxQueueEvents);
    if (this.queue.length > 0) this.schedule(0);
  }

  get anonymousId(): string {
    let id = this.platform.persistence.get('anonymous_id');
    if (!id) {
      id = uuidv7();
      this.platform.persistence.set('anonymous_id', id);
    }
    return id;
  }

  get userId(): string | undefined {
    return this.platform.persistence.get('user_id');
  }

  /** Events waiting for a final answer, oldest first. */
  pending(): WireEvent[] {
    return this.queue.map((item) => item.e);
  }

  /** Queues an event; answers its event_id, or undefined when nothing was queued. */
  track(action: string, properties?: Properties, options?: TrackOptions): string | undefined {
    return this.guard(() => this.enqueue(this.newEvent('track', action, flatProperties(properties), options?.userId, undefined, options?.timestamp)));
  }

  /**
   * Names the user from now on and records their traits; in a browser the
   * visitor's anonymous id goes with it, and the server links it to the user.
   */
  identify(userId: string, traits?: Properties): string | undefined {
    return this.guard(() => {
      if (typeof userId !== 'string' || userId === '') return undefined;
      this.platform.persistence.set('user_id', userId);
      const event = this.newEvent('identify', ACTIONS.identify, {}, userId, this.platform.visitor ? this.anonymousId : undefined);
      if (event) event.traits = flatProperties(traits);
      return this.enqueue(event);
    });
  }

  /** Links `previousId` (default the current user or anonymous id) to `userId`, who is the user from now on. */
  alias(userId: string, previousId?: string): string | undefined {
    return this.guard(() => {
      if (typeof userId !== 'string' || userId === '') return undefined;
      const previous = previousId ?? this.userId ?? this.anonymousId;
      this.platform.persistence.set('user_id', userId);
      // The server links an alias's anonymous_id, the previous id, to its user_id.
      return this.enqueue(this.newEvent('alias', ACTIONS.alias, {}, userId, previous));
    });
  }

  page(name?: string, properties?: Properties): string | undefined {
    return this.guard(() => {
      const event = this.newEvent('page', ACTIONS.page, flatProperties({ ...this.platform.page(), ...(typeof properties === 'object' ? properties : {}) }));
      if (event && typeof name === 'string' && name !== '') event.name = name;
      return this.enqueue(event);
    });
  }

  /** Forgets the user and makes a new anonymous id (a logout). */
  reset(): void {
    this.guard(() => {
      this.platform.persistence.set('user_id', undefined);
      this.platform.persistence.set('anonymous_id', undefined);
      return undefined;
    });
  }

  /** Sends what is queued, batch after batch, until the queue is empty or a batch must wait for a retry. */
  async flush(): Promise<void> {
    try {
      while (this.queue.length > this.inFlight.size && Date.now() >= this.retryAt) await this.sendNext();
      await this.sending;
      // A timer may fire a millisecond before Date.now() reaches retryAt: whatever waits keeps a timer.
      if (this.queue.length > this.inFlight.size && this.timer === undefined) this.schedule(Date.now() < this.retryAt ? 0 : this.options.flushIntervalMs);
    } catch {
      // guard: never into the host
    }
  }

  /**
   * Stops the timers and delivers what it can within `timeoutMs` (retries
   * included, Retry-After honoured while it fits); what is left is dropped
   * with reason `closed`.
   */
  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    const deadline = Date.now() + timeoutMs;
    try {
      while (this.queue.length > 0 && Date.now() < deadline) {
        if (this.sending) await within(this.sending, deadline);
        else if (Date.now() < this.retryAt) await within(undefined, Math.min(this.retryAt, deadline));
        else await within(this.sendNext(), deadline);
      }
    } catch {
      // guard: never into the host
    }
    // A request still in flight past the deadline is abandoned: its timer would hold a Node process open.
    this.stopped.abort();
    for (const item of this.queue.splice(0)) this.report({ status: 'dropped', event_id: item.e.event_id, action: item.e.action, reason: 'closed' });
    this.inFlight.clear();
    this.persist();
  }

  /** Sends again at once, forgetting the backoff: the network is back. */
  retryNow(): void {
    this.failures = 0;
    this.retryAt = 0;
    this.schedule(0);
  }

  /** The next batch: the oldest events not in flight, bounded in count and bytes. */
  private nextBatch(limit: number): Item[] {
    const batch: Item[] = [];
    let size = 200; // the wrapper: sent_at, write_key, brackets
    for (const item of this.queue) {
      if (batch.length >= limit) break;
      if (this.inFlight.has(item)) continue;
      const itemBytes = bytes(item.e) + 1;
      if (batch.length > 0 && size + itemBytes > this.options.maxBatchBytes) break;
      batch.push(item);
      size += itemBytes;
    }
    return batch;
  }

  private guard<T>(f: () => T | undefined): T | undefined {
    try {
      return f();
    } catch {
      return undefined;
    }
  }

  /**
   * A new event of `type`, to be completed by the caller and handed to
   * `enqueue`. Without `userId` it is the current user's (else the anonymous
   * id's) and carries the anonymous id; with one, it is that user's and
   * carries `anonymousId` only when given (a Node client's other users).
   */
  private newEvent(type: MessageType, action: string, properties: WireEvent['properties'], userId?: string, anonymousId?: string, timestamp?: Date | number): WireEvent | undefined {
    if (this.closed || typeof action !== 'string') return undefined;
    const at = timestamp === undefined ? Date.now() : Number(timestamp);
    const anonymous = userId === undefined ? this.anonymousId : anonymousId;
    const event: WireEvent = {
      event_id: uuidv7(),
      type,
      user_id: userId ?? this.userId ?? this.anonymousId,
      action,
      timestamp: new Date(Number.isFinite(at) ? at : Date.now()).toISOString(),
      properties,
      context: { ...this.platform.context(), library: { ...LIBRARY } },
    };
    if (anonymous !== undefined) event.anonymous_id = anonymous;
    return event;
  }

  /** Queues a finished event (refused on the spot when too large); answers its id. */
  private enqueue(event: WireEvent | undefined): string | undefined {
    if (event === undefined) return undefined;
    const { action } = event;
    const size = bytes(event);
    if (size > this.options.maxEventBytes) {
      this.report({
        status: 'refused',
        event_id: event.event_id,
        action,
        errors: [{ field: '$', code: 'event_too_large', problem: `event is ${size} bytes, at most ${this.options.maxEventBytes} allowed` }],
      });
      return event.event_id;
    }
    this.queue.push({ e: event, n: 0 });
    while (this.queue.length > this.options.maxQueueEvents) {
      const oldest = this.queue.findIndex((item) => !this.inFlight.has(item));
      const [dropped] = this.queue.splice(oldest, 1);
      if (dropped) this.report({ status: 'dropped', event_id: dropped.e.event_id, action: dropped.e.action, reason: 'queue_full' });
    }
    this.persist();
    this.schedule(this.queue.length - this.inFlight.size >= this.options.flushAt ? 0 : this.options.flushIntervalMs);
    return event.event_id;
  }

  /** Arms the timer to send within `delayMs` (never earlier than the backoff allows); an earlier timer stays. */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    const at = Math.max(Date.now() + delayMs, this.retryAt);
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, at - Date.now());
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One request: the next batch, its answer applied. Waits for the request in flight first. */
  private async sendNext(): Promise<void> {
    while (this.sending) await this.sending;
    const batch = this.nextBatch(Math.min(this.options.maxBatchEvents, this.splitTo));
    if (batch.length === 0) return;
    for (const item of batch) this.inFlight.add(item);
    this.sending = (async () => {
      let answer: Answer;
      try {
        answer = await postBatch(this.transport, batch.map((item) => item.e), this.stopped.signal);
      } catch {
        answer = { kind: 'retry', reason: 'network', answered: false };
      }
      for (const item of batch) this.inFlight.delete(item);
      this.apply(batch, answer);
    })();
    try {
      await this.sending;
    } finally {
      this.sending = undefined;
    }
  }

  private apply(batch: Item[], answer: Answer): void {
    if (answer.kind === 'split') {
      this.splitTo = Math.max(1, Math.ceil(batch.length / 2));
      this.schedule(0);
      return;
    }
    if (answer.kind === 'retry') {
      this.failures += 1;
      this.retryAt = Date.now() + retryDelay(this.failures, this.options.backoff, answer.retryAfterMs);
      if (answer.answered) {
        for (const item of batch) {
          item.n += 1;
          if (item.n >= this.options.maxAttempts) this.finish(item, { status: 'dropped', event_id: item.e.event_id, action: item.e.action, reason: 'max_attempts' });
        }
      }
      this.persist();
      this.schedule(0);
      return;
    }
    this.failures = 0;
    this.retryAt = 0;
    batch.forEach((item, i) => {
      const { event_id, action } = item.e;
      if (answer.kind === 'refused') {
        this.finish(item, { status: 'refused', event_id, action, errors: [{ field: '$', code: answer.code, problem: answer.message }] });
        return;
      }
      const result = answer.results[i]!;
      if (result.status === 'refused') this.finish(item, { status: 'refused', event_id, action, errors: result.errors });
      else this.finish(item, result.warnings ? { status: 'accepted', event_id, action, warnings: result.warnings } : { status: 'accepted', event_id, action });
    });
    this.persist();
    if (this.queue.length === 0) this.splitTo = Infinity; // the backlog that needed small batches is gone
    else this.schedule(this.queue.length >= this.options.flushAt ? 0 : this.options.flushIntervalMs);
  }

  private finish(item: Item, result: DeliveryResult): void {
    const at = this.queue.indexOf(item);
    if (at === -1) return; // dropped while in flight (close): already reported
    this.queue.splice(at, 1);
    this.report(result);
  }

  private report(result: DeliveryResult): void {
    try {
      this.onResult?.(result);
    } catch {
      // the host's callback failing is the host's business
    }
  }

  private persist(): void {
    try {
      this.platform.persistence.saveQueue(this.queue);
    } catch {
      // storage refused (full, disabled): the queue lives on in memory
    }
  }
}

/** Waits for `work` (or nothing) until `deadline` at most, leaving no timer behind. */
async function within(work: Promise<void> | undefined, deadline: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([work ?? new Promise(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
  } finally {
    clearTimeout(timer);
  }
}
