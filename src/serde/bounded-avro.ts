/**
 * A bounds check of an Avro body before avsc decodes it. avsc trusts what the
 * bytes claim: a map or array block count of 2^50 in a 60-byte frame makes it
 * loop (and allocate) per claimed item, holding the event loop for minutes.
 * This walks the bytes as the writer schema lays them out, reading every
 * length and count and checking it against the bytes that remain, the items
 * allowed in total and the nesting allowed, before any loop runs; nothing is
 * allocated per item. What passes decodes in time proportional to its size.
 *
 * It checks framing only (varints, lengths, counts, union and enum indexes):
 * whether the values make sense is for avsc and the validator after it.
 */
import type { Type } from 'avsc';
import { DEFAULT_EVENT_LIMITS, type EventLimits } from '../ingestion/validate-event.js';

export interface AvroBounds {
  /** Map entries and array items in one body, all collections together. */
  maxItems: number;
  /** Records, maps and arrays inside one another, the top-level record counting as 1. */
  maxDepth: number;
}

/** Room beside the properties for the rest of an event's collections (its warnings). */
const EVENT_OTHER_ITEMS = 16;
const EVENT_MAX_DEPTH = 16;

/** The maps of scalars an event holds, each bounded by the property count: properties and traits (v3). */
const EVENT_MAPS = 2;

/** What an event body may hold: the properties and traits the validator allows, and a little more. */
export function eventAvroBounds(limits: Pick<EventLimits, 'propertyCount'> = DEFAULT_EVENT_LIMITS): AvroBounds {
  return { maxItems: EVENT_MAPS * limits.propertyCount + EVENT_OTHER_ITEMS, maxDepth: EVENT_MAX_DEPTH };
}

class BoundsError extends Error {
  path: string[] = [];
}

/** The avsc type properties the walk reads (avsc's public typings do not name them). */
interface AvscTypeShape {
  typeName: string;
  underlyingType?: Type;
  types?: Type[];
  itemsType?: Type;
  valuesType?: Type;
  fields?: Array<{ name: string; type: Type }>;
  symbols?: string[];
  size?: number;
}

/** Reads from `pos`, returns the position after the value; throws BoundsError. */
type Walk = (buf: Buffer, pos: number) => number;

// The walk is synchronous, so one set of counters serves every call.
let itemsLeft = 0;
let depthLeft = 0;
let varintValue = 0;

function fail(problem: string): never {
  throw new BoundsError(problem);
}

/**
 * A zig-zag varint (Avro int and long) at `pos`: sets varintValue, returns
 * the position after it. Beyond 2^53 the value is approximate, which is
 * enough to compare it with a byte count.
 */
function readVarint(buf: Buffer, pos: number, maxBytes: number): number {
  const first = pos;
  let magnitude = 0;
  let scale = 1;
  for (;;) {
    if (pos >= buf.length) fail(`truncated: a varint at byte ${first} runs past the end`);
    const byte = buf[pos++]!;
    const index = pos - first;
    // The 10th byte of a long carries one bit (bit 63), the 5th of an int four, and neither a continuation.
    if (index === maxBytes && byte > (maxBytes === 10 ? 1 : 0x0f)) fail(`a varint at byte ${first} overflows ${maxBytes === 10 ? 64 : 32} bits`);
    magnitude += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 128;
  }
  // Zig-zag: the low bit is the sign; exact for the parity, from the first byte.
  varintValue = buf[first]! & 1 ? -(magnitude + 1) / 2 : magnitude / 2;
  return pos;
}

function skip(buf: Buffer, pos: number, bytes: number, what: string): number {
  const end = pos + bytes;
  if (end > buf.length) fail(`truncated: ${what} of ${bytes} bytes at byte ${pos}, ${buf.length - pos} left`);
  return end;
}

const walkLong: Walk = (buf, pos) => readVarint(buf, pos, 10);
const walkInt: Walk = (buf, pos) => readVarint(buf, pos, 5);

const walkBytes: Walk = (buf, pos) => {
  pos = readVarint(buf, pos, 10);
  const length = varintValue;
  if (length < 0) fail(`a negative length ${length} at byte ${pos}`);
  return skip(buf, pos, length, 'a string or bytes value');
};

const walks = new WeakMap<Type, Walk>();
const minimums = new WeakMap<Type, number>();

function shapeOf(type: Type): AvscTypeShape {
  return type as unknown as AvscTypeShape;
}

/** The fewest bytes a value of `type` can take: how many items a block's remaining bytes can hold. */
function minBytes(type: Type, visiting = new Set<Type>()): number {
  const known = minimums.get(type);
  if (known !== undefined) return known;
  if (visiting.has(type)) return 0; // a recursive record: 0 is a lower bound
  visiting.add(type);
  const t = shapeOf(type);
  let min: number;
  if (t.typeName.startsWith('logical')) min = minBytes(t.underlyingType!, visiting);
  else if (t.typeName === 'null') min = 0;
  else if (t.typeName === 'float') min = 4;
  else if (t.typeName === 'double') min = 8;
  else if (t.typeName === 'fixed') min = t.size!;
  else if (t.fields) min = t.fields.reduce((sum, field) => sum + minBytes(field.type, visiting), 0);
  else min = 1; // boolean, int, long, string, bytes, enum, union (its index), array and map (the closing 0)
  visiting.delete(type);
  minimums.set(type, min);
  return min;
}

function blocks(describe: string, itemMin: number, walkItem: Walk): Walk {
  return (buf, pos) => {
    if (--depthLeft < 0) fail('nested too deeply');
    for (;;) {
      pos = readVarint(buf, pos, 10);
      let count = varintValue;
      if (count === 0) break;
      if (count < 0) {
        // A negative count is followed by the block's size in bytes.
        count = -count;
        pos = readVarint(buf, pos, 10);
        if (varintValue < 0 || varintValue > buf.length - pos) fail(`a ${describe} block claims ${varintValue} bytes, ${buf.length - pos} left`);
      }
      if (count > itemsLeft) fail(`a ${describe} block claims ${count} items, more than the ${itemsLeft} allowed`);
      if (count * itemMin > buf.length - pos) fail(`a ${describe} block claims ${count} items, more than the ${buf.length - pos} bytes left can hold`);
      itemsLeft -= count;
      for (let i = 0; i < count; i++) pos = walkItem(buf, pos);
    }
    depthLeft++;
    return pos;
  };
}

function compile(type: Type): Walk {
  const known = walks.get(type);
  if (known) return known;
  // A recursive record refers to itself: its entry resolves once compiled.
  let compiled: Walk | undefined;
  walks.set(type, (buf, pos) => compiled!(buf, pos));
  compiled = compileShape(type);
  walks.set(type, compiled);
  return compiled;
}

function compileShape(type: Type): Walk {
  const t = shapeOf(type);
  if (t.typeName.startsWith('logical')) return compile(t.underlyingType!);
  switch (t.typeName) {
    case 'null':
      return (_buf, pos) => pos;
    case 'boolean':
      return (buf, pos) => skip(buf, pos, 1, 'a boolean');
    case 'int':
      return walkInt;
    case 'long':
      return walkLong;
    case 'float':
      return (buf, pos) => skip(buf, pos, 4, 'a float');
    case 'double':
      return (buf, pos) => skip(buf, pos, 8, 'a double');
    case 'string':
    case 'bytes':
      return walkBytes;
    case 'fixed': {
      const size = t.size!;
      return (buf, pos) => skip(buf, pos, size, 'a fixed value');
    }
    case 'enum': {
      const symbols = t.symbols!.length;
      return (buf, pos) => {
        pos = readVarint(buf, pos, 5);
        if (varintValue < 0 || varintValue >= symbols) fail(`enum index ${varintValue} out of 0..${symbols - 1}`);
        return pos;
      };
    }
    case 'array': {
      const items = t.itemsType!;
      return blocks('array', minBytes(items), compile(items));
    }
    case 'map': {
      const values = compile(t.valuesType!);
      const entry: Walk = (buf, pos) => values(buf, walkBytes(buf, pos));
      return blocks('map', 1 + minBytes(t.valuesType!), entry);
    }
  }
  if (t.types) {
    const branches = t.types.map(compile);
    return (buf, pos) => {
      pos = readVarint(buf, pos, 10);
      const branch = branches[varintValue];
      if (branch === undefined) fail(`union index ${varintValue} out of 0..${branches.length - 1}`);
      return branch(buf, pos);
    };
  }
  if (t.fields) {
    const fields = t.fields.map((field) => ({ name: field.name, walk: compile(field.type) }));
    return (buf, pos) => {
      if (--depthLeft < 0) fail('nested too deeply');
      let i = 0;
      try {
        for (; i < fields.length; i++) pos = fields[i]!.walk(buf, pos);
      } catch (error) {
        if (error instanceof BoundsError) error.path.unshift(fields[i]!.name);
        throw error;
      }
      depthLeft++;
      return pos;
    };
  }
  throw new Error(`bounded-avro: no walk for Avro type ${t.typeName}`);
}

/**
 * Why `payload` must not be handed to avsc as a value of `writer`, or
 * undefined when its lengths, counts and nesting are within the bytes and
 * the bounds. Cost: one pass over the bytes, no allocation.
 */
export function avroBoundsProblem(writer: Type, payload: Buffer, bounds: AvroBounds): string | undefined {
  const walk = compile(writer);
  itemsLeft = bounds.maxItems;
  depthLeft = bounds.maxDepth;
  try {
    walk(payload, 0);
    return undefined;
  } catch (error) {
    if (!(error instanceof BoundsError)) throw error;
    return error.path.length > 0 ? `${error.path.join('.')}: ${error.message}` : error.message;
  }
}
