import { describe, expect, it } from 'vitest';
import { allows, hashSecret, kindOf, newKey, parseKey, secretMatches } from './api-key.js';

describe('API keys', () => {
  it('make write keys public-looking and every other key secret', () => {
    expect(newKey(['write']).key).toMatch(/^st_wk_[0-9a-f]{16}_[0-9a-f]{40}$/);
    expect(newKey(['events:read']).key).toMatch(/^st_sk_/);
    expect(kindOf(['write', 'stats:read'])).toBe('sk');
  });

  it('read back the key id and secret, and store only the secret hash', () => {
    const made = newKey(['write']);
    const parsed = parseKey(made.key)!;
    expect(parsed.keyId).toBe(made.keyId);
    expect(made.secretSha256).toBe(hashSecret(parsed.secret));
    expect(made.key).not.toContain(made.secretSha256);
    expect(secretMatches(parsed.secret, made.secretSha256)).toBe(true);
    expect(secretMatches(parsed.secret.replace(/.$/, (c) => (c === '0' ? '1' : '0')), made.secretSha256)).toBe(false);
  });

  it('refuse anything not shaped as a key', () => {
    for (const text of ['', 'st_wk_', 'st_xx_0123456789abcdef_' + 'a'.repeat(40), `st_wk_0123456789abcdef_${'a'.repeat(39)}`, `st_wk_0123456789ABCDEF_${'a'.repeat(40)}`]) {
      expect(parseKey(text)).toBeUndefined();
    }
  });

  it('compare a stored hash of another length as a mismatch, not an error', () => {
    expect(secretMatches('a'.repeat(40), 'abcd')).toBe(false);
  });

  it('let admin do what every scope does, and no scope stand in for another', () => {
    expect(allows(new Set(['admin']), 'write')).toBe(true);
    expect(allows(new Set(['events:read']), 'stats:read')).toBe(false);
    expect(allows(new Set(['write']), 'events:read')).toBe(false);
  });
});
