/**
 * Event ids made on the client: UUIDv7 (RFC 9562), 48 bits of Unix
 * milliseconds then random bits, so ids sort by creation time, which keeps
 * the worker's dedupe index append-mostly. Randomness from
 * crypto.getRandomValues; only the layout is ours.
 */
const HEX = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

export function uuidv7(now: number = Date.now(), random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const b = random(new Uint8Array(16));
  // 48-bit big-endian milliseconds; division, not shifts: bitwise operators truncate to 32 bits.
  let ms = Math.max(0, Math.floor(now));
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6]! & 0x0f) | 0x70; // version 7
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10
  let s = '';
  for (let i = 0; i < 16; i++) s += (i === 4 || i === 6 || i === 8 || i === 10 ? '-' : '') + HEX[b[i]!];
  return s;
}
