/**
 * API keys as text: how one is made, read back and checked. A key is
 * `st_<kind>_<key id>_<secret>`: the kind says at a glance (and to secret
 * scanners) whether it may sit in a web page (`wk`, write keys) or must not
 * (`sk`, secret keys); the key id (64 random bits, hex) finds the stored key
 * without a scan; the secret (160 random bits, hex) is stored only as its
 * SHA-256, compared in constant time. A SHA-256 rather than a slow password
 * hash: the secret is random and long, so there is nothing to brute-force,
 * and every /track request checks one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SCOPES = ['write', 'events:read', 'stats:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** What a granted scope allows: `admin` manages the project and reads and writes it. */
export function allows(granted: ReadonlySet<Scope>, needed: Scope): boolean {
  return granted.has(needed) || granted.has('admin');
}

export type KeyKind = 'wk' | 'sk';

/** A key with only `write` may be public (a web page, an app); any other scope makes it secret. */
export function kindOf(scopes: readonly Scope[]): KeyKind {
  return scopes.length > 0 && scopes.every((s) => s === 'write') ? 'wk' : 'sk';
}

const KEY = /^st_(wk|sk)_([0-9a-f]{16})_([0-9a-f]{40})$/;

export interface ParsedKey {
  kind: KeyKind;
  keyId: string;
  secret: string;
}

export function parseKey(text: string): ParsedKey | undefined {
  const match = KEY.exec(text);
  return match ? { kind: match[1] as KeyKind, keyId: match[2]!, secret: match[3]! } : undefined;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant time in the secret: how much of a guess was right never shows in the timing. */
export function secretMatches(secret: string, storedSha256: string): boolean {
  const stored = Buffer.from(storedSha256, 'hex');
  const given = createHash('sha256').update(secret).digest();
  return stored.length === given.length && timingSafeEqual(stored, given);
}

export interface NewKey {
  /** The whole key, shown once. */
  key: string;
  keyId: string;
  secretSha256: string;
}

export function newKey(scopes: readonly Scope[]): NewKey {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(20).toString('hex');
  return { key: `st_${kindOf(scopes)}_${keyId}_${secret}`, keyId, secretSha256: hashSecret(secret) };
}
