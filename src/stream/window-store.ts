/**
 * The state of one windowed aggregation over one Kafka partition: open
 * windows per key, the partition's watermark, and what to emit.
 *
 * Time is event time only. The watermark is the latest event time seen in
 * the partition, each event's time capped by `watermarkTime` (the worker
 * caps it at the time the event was received plus the grace: a client whose
 * clock runs fast cannot close everyone else's windows); a window closes
 * once the watermark passes its end plus the grace period. Everything here
 * is driven by the events themselves (no wall clock), and a result's revision is derived from its content (how many
 * events it holds, then final after update), not from how often it was
 * emitted: replaying records from Kafka yields results storage recognises,
 * and a rebuilt window continues the revisions of the one that was lost.
 *
 * - Emit policy: `final` emits a window once, when it closes; `rolling` also
 *   emits updates while it is open, at most one per `everyMs` of event time
 *   per window (the bounded rate), then the final.
 * - Wall-clock punctuation (`punctuation`, Kafka Streams' WALL_CLOCK_TIME
 *   punctuator): answers do not wait for traffic. A rolling window's changes
 *   are emitted at the latest `emitWithinMs` of wall time after they were
 *   folded in, whatever event time does; and a partition that has read all
 *   its records and received nothing for `idleAfterMs` lets its watermark
 *   flow on with the wall clock (from where its last event left it), so its
 *   windows close. The wall time is given (`tick`), never read here.
 * - Bounded state (`maxOpenWindows`): once a partition holds that many open
 *   windows, an event that would open another is folded into its
 *   `overflowKey`'s window instead (counted in `shedEvents`), so random keys
 *   cannot grow the state without bound; totals stay exact.
 * - Late policy, for an event whose window has already closed: always
 *   counted and reported; `drop` leaves the closed result alone, `correct`
 *   folds it in and emits the window again (a higher revision) while the
 *   closed result is still kept (`correctionHorizonMs` past its close).
 * - Sessions merge when an event bridges two of a key's sessions; a merged
 *   session that was already emitted is retracted.
 *
 * State survives a worker's death through checkpoints: after each batch the
 * changed open windows, the closed ones kept for corrections, and the ones
 * gone are written out with the offset each one has folded in up to, and a
 * new owner restores them; replayed records a window already holds are
 * skipped, so nothing is folded twice, and a new owner corrects what its
 * predecessor would have.
 */
import type { Aggregator } from './aggregates.js';
import { fixedWindowsFor, overlapsOrTouches, sessionWindowFor, type Millis, type TimeWindow, type WindowSpec } from './windows.js';

export type EmitPolicy = { kind: 'final' } | { kind: 'rolling'; everyMs: Millis };
export type LatePolicy = 'drop' | 'correct';

export interface WindowedAggregation<E, A> {
  spec: WindowSpec;
  graceMs: Millis;
  emit: EmitPolicy;
  late: LatePolicy;
  /** How long after closing a window's result is kept for late corrections (default: one window size or gap). */
  correctionHorizonMs?: Millis;
  /** Wall-clock punctuation (see above); without it, only event time drives emits. */
  punctuation?: Punctuation;
  /** Open windows held at most (see above), with the key the rest is folded into. */
  maxOpenWindows?: number;
  overflowKey?(key: string): string;
  key(event: E): string;
  time(event: E): Millis;
  /** How far the event may move the watermark (default: its time). Never above `time`. */
  watermarkTime?(event: E): Millis;
  aggregator: Aggregator<E, A>;
}

export interface Punctuation {
  /** Longest wall time an open window's folded-in changes wait to be emitted (rolling emits). */
  emitWithinMs: Millis;
  /** Wall time without records (and nothing left to read) after which the watermark follows the wall clock. */
  idleAfterMs: Millis;
}

export type ResultKind = 'update' | 'final' | 'retract';

/** A result as storage holds it. */
export interface StoredResult<A> {
  kind: ResultKind;
  /** 2 x events (+1 when final; RETRACTED for a retraction): storage keeps the highest per key and window start. */
  revision: number;
  aggregate: A;
}

/**
 * What storage holds for a window before a result: the result this store
 * emitted for it last, `nothing`, or `unknown` when an earlier owner of the
 * partition may have written it (a restored window, or one opened by a
 * record below the partition's `uncertainBelow`).
 */
export type Replaced<A> = StoredResult<A> | 'nothing' | 'unknown';

export interface WindowResult<A> extends StoredResult<A> {
  key: string;
  window: TimeWindow;
  replaces: Replaced<A>;
}

/** The revision of a retraction: above any a window can reach, so it always wins. */
export const RETRACTED = 0xffff_ffff;

export interface LateEvent<E> {
  key: string;
  window: TimeWindow;
  event: E;
  /** How far the watermark already was past the window's close. */
  lateByMs: Millis;
  corrected: boolean;
}

/** A window as it is checkpointed and restored: open, or closed and kept for late corrections. */
export interface WindowCheckpoint<A> {
  key: string;
  window: TimeWindow;
  aggregate: A;
  /** Closed and final, kept until the correction horizon (late policy `correct`). */
  closed: boolean;
  /** Emitted at least once (a merge away from it must retract it). */
  emitted: boolean;
  /** Watermark at the last emitted update (rolling emits). */
  emittedAt: Millis | undefined;
  /** The offset after the last record folded in: a replayed record below it is already in. */
  throughOffset: bigint;
}

export interface Checkpoint<A> {
  /** Windows changed since the last checkpoint. */
  open: WindowCheckpoint<A>[];
  /** Windows gone since the last checkpoint (closed and not kept, past the horizon, or merged into another session). */
  gone: Array<{ key: string; start: Millis }>;
}

/** Open or kept closed: which map holds it says which. */
interface WindowState<A> extends Omit<WindowCheckpoint<A>, 'closed'> {
  changed: boolean;
  /** Wall time of the first change not emitted yet (punctuation). */
  changedAt: Millis;
  stored: Replaced<A>;
}

export interface StoreStats {
  openWindows: number;
  retainedClosedWindows: number;
  watermark: Millis;
  lateEvents: number;
  /** Events folded into the overflow key because the open windows were at their cap. */
  shedEvents: number;
}

const id = (key: string, start: Millis) => `${key}\u0000${start}`;

export class WindowStore<E, A> {
  private readonly open = new Map<string, WindowState<A>>();
  private readonly closed = new Map<string, WindowState<A>>();
  /** Session windows of each key (sessions only), by their current identity. */
  private readonly sessionsByKey = new Map<string, Set<string>>();
  private readonly pending: WindowResult<A>[] = [];
  /** Identities changed or gone since the last checkpoint. */
  private readonly touched = new Set<string>();
  /** Identities with a row in the checkpoints (written, or restored): only those need a gone row. */
  private readonly saved = new Set<string>();
  private readonly horizonMs: Millis;
  private lateCount = 0;
  private shedCount = 0;
  private replaying = false;
  /** Records below this offset may have had their windows written by an earlier owner. */
  private uncertainBelow = 0n;
  watermark: Millis = Number.NEGATIVE_INFINITY;
  /** The wall time as of the last tick. */
  private now: Millis = 0;
  /** Wall time and watermark when the last record was added (or the partition resumed): where an idle watermark flows from. */
  private lastRecordAt: Millis | undefined;
  private watermarkAtLastRecord: Millis = Number.NEGATIVE_INFINITY;

  constructor(private readonly definition: WindowedAggregation<E, A>) {
    const { spec } = definition;
    this.horizonMs = definition.correctionHorizonMs ?? (spec.kind === 'session' ? spec.gapMs : spec.sizeMs);
  }

  private closesAt(window: TimeWindow): Millis {
    return window.end + this.definition.graceMs;
  }

  private isClosed(window: TimeWindow): boolean {
    return this.watermark >= this.closesAt(window);
  }

  /**
   * Continues from a watermark reached before (kept with the committed
   * offset): records replayed from that commit rebuild the windows still
   * open, and those of windows already closed are neither late nor folded in.
   */
  resumeFrom(watermark: Millis) {
    this.watermark = Math.max(this.watermark, watermark);
    this.lastRecordAt = this.now;
    this.watermarkAtLastRecord = this.watermark;
  }

  /** The wall time now: what punctuation measures against. */
  tick(now: Millis) {
    this.now = now;
  }

  /**
   * Punctuation of an idle partition: `caughtUp` says nothing is left to
   * read. Once no record came for `idleAfterMs`, the watermark is where the
   * last record left it plus the wall time since, less `idleAfterMs`.
   * Returns whether it moved.
   */
  advanceIdle(caughtUp: boolean): boolean {
    const p = this.definition.punctuation;
    if (!p || !caughtUp || this.lastRecordAt === undefined || !Number.isFinite(this.watermarkAtLastRecord)) return false;
    const flowed = this.watermarkAtLastRecord + (this.now - this.lastRecordAt - p.idleAfterMs);
    if (flowed <= this.watermark) return false;
    this.watermark = flowed;
    return true;
  }

  /**
   * Windows opened by records below `offset` may already be in storage,
   * written by an earlier owner of the partition: their results say
   * `replaces: 'unknown'`. Windows opened at or above it are this store's alone.
   */
  uncertainUntil(offset: bigint) {
    this.uncertainBelow = offset;
  }

  private storedBefore(offset: bigint): Replaced<A> {
    return offset < this.uncertainBelow ? 'unknown' : 'nothing';
  }

  /**
   * Folds one event in. Returns the late notes (one per closed window it
   * belonged to). `replayed`: the record was processed before a restart
   * (see resumeFrom), so a closed window was already dealt with.
   */
  add(event: E, offset: bigint, replayed = false): LateEvent<E>[] {
    this.replaying = replayed;
    const { definition } = this;
    let key = definition.key(event);
    const t = definition.time(event);
    if (definition.overflowKey && this.open.size >= (definition.maxOpenWindows ?? Number.POSITIVE_INFINITY) && !this.holdsOpen(key, t)) {
      key = definition.overflowKey(key);
      this.shedCount += 1;
    }
    const late =
      definition.spec.kind === 'session'
        ? this.addToSession(definition.spec.gapMs, key, t, event, offset)
        : fixedWindowsFor(definition.spec, t).flatMap((window) => this.addToFixed(key, window, event, offset));
    const reached = definition.watermarkTime ? Math.min(t, definition.watermarkTime(event)) : t;
    if (reached > this.watermark) this.watermark = reached;
    this.lastRecordAt = this.now;
    this.watermarkAtLastRecord = this.watermark;
    return late;
  }

  /** Whether the event's key already has an open window the event would join (checked only at the cap). */
  private holdsOpen(key: string, t: Millis): boolean {
    const { spec } = this.definition;
    if (spec.kind === 'session') return (this.sessionsByKey.get(key)?.size ?? 0) > 0;
    return fixedWindowsFor(spec, t).some((w) => this.open.has(id(key, w.start)));
  }

  private addToFixed(key: string, window: TimeWindow, event: E, offset: bigint): LateEvent<E>[] {
    if (this.isClosed(window)) return this.lateEvent(key, window, event, offset);
    const stateId = id(key, window.start);
    let state = this.open.get(stateId);
    if (!state) {
      state = {
        key,
        window,
        aggregate: this.definition.aggregator.init(),
        emitted: false,
        changed: false,
        changedAt: 0,
        emittedAt: undefined,
        throughOffset: 0n,
        stored: this.storedBefore(offset),
      };
      this.open.set(stateId, state);
    }
    if (offset >= state.throughOffset) this.fold(stateId, state, event, offset);
    return [];
  }

  private addToSession(gapMs: Millis, key: string, t: Millis, event: E, offset: bigint): LateEvent<E>[] {
    const own = sessionWindowFor(gapMs, t);
    if (this.isClosed(own)) return this.lateEvent(key, own, event, offset);
    let ids = this.sessionsByKey.get(key);
    if (!ids) {
      ids = new Set<string>();
      this.sessionsByKey.set(key, ids);
    }
    const touching: WindowState<A>[] = [];
    for (const sid of ids) {
      const session = this.open.get(sid)!;
      if (overlapsOrTouches(session.window, own)) touching.push(session);
    }
    // A replayed record a restored session already holds.
    if (touching.some((s) => offset < s.throughOffset)) return [];
    const only = touching.length === 1 ? touching[0]! : undefined;
    if (only && only.window.start <= own.start) {
      // Most events land in or just after the one session of their key: it
      // grows in place, under the same start (a merge would copy its aggregate).
      if (own.end > only.window.end) only.window = { start: only.window.start, end: own.end };
      this.fold(id(key, only.window.start), only, event, offset);
      return [];
    }
    const { aggregator } = this.definition;
    let merged: WindowState<A> = {
      key,
      window: own,
      aggregate: aggregator.init(),
      emitted: false,
      changed: false,
      changedAt: 0,
      emittedAt: undefined,
      throughOffset: 0n,
      stored: this.storedBefore(offset),
    };
    for (const session of touching.sort((a, b) => a.window.start - b.window.start)) {
      const sid = id(key, session.window.start);
      this.open.delete(sid);
      ids.delete(sid);
      this.touched.add(sid);
      merged = {
        key,
        window: { start: Math.min(merged.window.start, session.window.start), end: Math.max(merged.window.end, session.window.end) },
        aggregate: aggregator.merge(session.aggregate, merged.aggregate),
        emitted: merged.emitted || session.emitted,
        changed: true,
        changedAt: merged.changed ? merged.changedAt : this.now,
        emittedAt: session.emittedAt ?? merged.emittedAt,
        throughOffset: session.throughOffset > merged.throughOffset ? session.throughOffset : merged.throughOffset,
        // A session that only grew keeps its start, and what storage holds under it.
        stored: touching.length === 1 && session.window.start <= own.start ? session.stored : 'unknown',
      };
    }
    // Sessions that were emitted under a start the merge changed are retracted,
    // and the merged session is due at once so storage is never left without it.
    for (const session of touching) {
      if (session.emitted && session.window.start !== merged.window.start) {
        this.pending.push({ key, window: session.window, kind: 'retract', revision: RETRACTED, aggregate: session.aggregate, replaces: session.stored });
        merged.emittedAt = undefined;
      }
    }
    const sid = id(key, merged.window.start);
    this.open.set(sid, merged);
    ids.add(sid);
    this.fold(sid, merged, event, offset);
    return [];
  }

  private fold(stateId: string, state: WindowState<A>, event: E, offset: bigint) {
    state.aggregate = this.definition.aggregator.add(state.aggregate, event);
    if (!state.changed) state.changedAt = this.now;
    state.changed = true;
    if (offset + 1n > state.throughOffset) state.throughOffset = offset + 1n;
    this.touched.add(stateId);
  }

  private lateEvent(key: string, window: TimeWindow, event: E, offset: bigint): LateEvent<E>[] {
    if (this.replaying) return []; // handled before the restart
    const stateId = id(key, window.start);
    const retained = this.definition.late === 'correct' ? this.closed.get(stateId) : undefined;
    // Folded into a checkpointed correction before a restart: neither late nor folded again.
    if (retained && offset < retained.throughOffset) return [];
    this.lateCount += 1;
    const lateByMs = this.watermark - this.closesAt(window);
    if (retained) this.fold(stateId, retained, event, offset);
    return [{ key, window, event, lateByMs, corrected: retained !== undefined }];
  }

  private result(state: WindowState<A>, kind: 'update' | 'final'): WindowResult<A> {
    state.emitted = true;
    state.changed = false;
    const revision = 2 * this.definition.aggregator.weight(state.aggregate) + (kind === 'final' ? 1 : 0);
    // A snapshot: the window's own aggregate keeps changing after an update.
    const aggregate = this.definition.aggregator.clone(state.aggregate);
    const replaces = state.stored;
    // Storage writes a result newer than what it holds: from now on it holds this one.
    if (replaces !== 'unknown' && (replaces === 'nothing' || revision > replaces.revision)) state.stored = { kind, revision, aggregate };
    return { key: state.key, window: { ...state.window }, kind, revision, aggregate, replaces };
  }

  /**
   * What is due after the events added so far: rolling updates, finals of
   * windows the watermark closed, corrections, retractions. Ordered by
   * window end, then key, so a replay yields the same sequence.
   */
  advance(): WindowResult<A>[] {
    const { emit, punctuation } = this.definition;
    // Changes folded in at or before this wall time are due whatever event time says.
    const changedBefore = punctuation ? this.now - punctuation.emitWithinMs : Number.NEGATIVE_INFINITY;
    const due = this.pending.splice(0);
    for (const [stateId, state] of this.open) {
      if (this.isClosed(state.window)) {
        due.push(this.result(state, 'final'));
        this.open.delete(stateId);
        this.touched.add(stateId);
        this.sessionsByKey.get(state.key)?.delete(stateId);
        if (this.definition.late === 'correct') this.closed.set(stateId, state);
      } else if (
        emit.kind === 'rolling' &&
        state.changed &&
        (state.emittedAt === undefined || this.watermark - state.emittedAt >= emit.everyMs || state.changedAt <= changedBefore)
      ) {
        state.emittedAt = this.watermark;
        due.push(this.result(state, 'update'));
        this.touched.add(stateId);
      }
    }
    for (const [stateId, state] of this.closed) {
      if (state.changed) due.push(this.result(state, 'final'));
      if (this.watermark >= this.closesAt(state.window) + this.horizonMs) {
        this.closed.delete(stateId);
        this.touched.add(stateId);
      }
    }
    return due.sort((a, b) => a.window.end - b.window.end || a.window.start - b.window.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * The windows changed (open, or closed and kept for corrections), and the
   * windows gone, since the last checkpoint. Written out after each batch,
   * they let a new owner of the partition continue without replaying the
   * windows' whole history.
   */
  checkpoint(): Checkpoint<A> {
    const open: WindowCheckpoint<A>[] = [];
    const gone: Checkpoint<A>['gone'] = [];
    for (const stateId of this.touched) {
      const openState = this.open.get(stateId);
      const state = openState ?? this.closed.get(stateId);
      if (state) {
        const { changed: _changed, changedAt: _changedAt, stored: _stored, ...saved } = state;
        open.push({ ...saved, closed: openState === undefined, window: { ...saved.window }, aggregate: this.definition.aggregator.clone(saved.aggregate) });
        this.saved.add(stateId);
      } else if (this.saved.delete(stateId)) {
        // A window opened and gone between two checkpoints never had a row to remove.
        const at = stateId.lastIndexOf('\u0000');
        gone.push({ key: stateId.slice(0, at), start: Number(stateId.slice(at + 1)) });
      }
    }
    this.touched.clear();
    return { open, gone };
  }

  /** Continues from checkpointed windows (a new owner of the partition). */
  restore(windows: WindowCheckpoint<A>[]): void {
    for (const { closed, ...saved } of windows) {
      const stateId = id(saved.key, saved.window.start);
      this.saved.add(stateId);
      // Results of restored windows were written by an earlier owner, maybe more than the checkpoint knows.
      if (closed) {
        this.closed.set(stateId, { ...saved, changed: false, changedAt: 0, stored: 'unknown' });
        continue;
      }
      this.open.set(stateId, { ...saved, changed: false, changedAt: 0, stored: 'unknown' });
      if (this.definition.spec.kind === 'session') {
        const ids = this.sessionsByKey.get(saved.key) ?? new Set<string>();
        ids.add(stateId);
        this.sessionsByKey.set(saved.key, ids);
      }
    }
  }

  stats(): StoreStats {
    return {
      openWindows: this.open.size,
      retainedClosedWindows: this.closed.size,
      watermark: this.watermark,
      lateEvents: this.lateCount,
      shedEvents: this.shedCount,
    };
  }
}
