/**
 * Event-time windows: which windows an event belongs to, as values.
 * Tumbling and hopping windows are fixed, aligned to the epoch; session
 * windows grow per key and merge when an event bridges two of them (see
 * window-store.ts). Windows are half-open: [start, end).
 */

export type Millis = number;

export type TumblingSpec = { kind: 'tumbling'; sizeMs: Millis };
export type HoppingSpec = { kind: 'hopping'; sizeMs: Millis; advanceMs: Millis };
export type SessionSpec = { kind: 'session'; gapMs: Millis };
export type WindowSpec = TumblingSpec | HoppingSpec | SessionSpec;

export interface TimeWindow {
  start: Millis;
  end: Millis;
}

export const seconds = (n: number): Millis => n * 1_000;
export const minutes = (n: number): Millis => n * 60_000;
export const hours = (n: number): Millis => n * 3_600_000;

function positive(name: string, value: Millis): Millis {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive whole number of milliseconds, got ${value}`);
  return value;
}

export function tumbling(sizeMs: Millis): TumblingSpec {
  return { kind: 'tumbling', sizeMs: positive('size', sizeMs) };
}

export function hopping(sizeMs: Millis, advanceMs: Millis): HoppingSpec {
  positive('size', sizeMs);
  positive('advance', advanceMs);
  if (advanceMs > sizeMs) throw new RangeError(`advance (${advanceMs}) must not exceed size (${sizeMs}): events would fall between windows`);
  return { kind: 'hopping', sizeMs, advanceMs };
}

export function session(gapMs: Millis): SessionSpec {
  return { kind: 'session', gapMs: positive('gap', gapMs) };
}

/** Floor to a multiple of `step` that also works for times before the epoch. */
function alignDown(t: Millis, step: Millis): Millis {
  return t - (((t % step) + step) % step);
}

/** The fixed windows containing `t`, oldest first. Sessions are per key: see WindowStore (window-store.ts). */
export function fixedWindowsFor(spec: TumblingSpec | HoppingSpec, t: Millis): TimeWindow[] {
  if (spec.kind === 'tumbling') {
    const start = alignDown(t, spec.sizeMs);
    return [{ start, end: start + spec.sizeMs }];
  }
  const windows: TimeWindow[] = [];
  for (let start = alignDown(t, spec.advanceMs); start > t - spec.sizeMs; start -= spec.advanceMs) {
    windows.push({ start, end: start + spec.sizeMs });
  }
  return windows.reverse();
}

/** A session window around a single event: it lasts until `gap` after the event. */
export function sessionWindowFor(gapMs: Millis, t: Millis): TimeWindow {
  return { start: t, end: t + gapMs };
}

export function overlapsOrTouches(a: TimeWindow, b: TimeWindow): boolean {
  return a.start <= b.end && b.start <= a.end;
}

export function describeWindow(spec: WindowSpec): string {
  const d = (ms: Millis) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`);
  switch (spec.kind) {
    case 'tumbling':
      return `tumbling ${d(spec.sizeMs)}`;
    case 'hopping':
      return `hopping ${d(spec.sizeMs)} every ${d(spec.advanceMs)}`;
    case 'session':
      return `session, gap ${d(spec.gapMs)}`;
  }
}
