import { describe, expect, it } from 'vitest';
import { createConcurrencyLimit } from './concurrency-limit.js';

describe('createConcurrencyLimit', () => {
  it('refuses over the cap and frees a slot on release', () => {
    const limit = createConcurrencyLimit(2);
    const a = limit.tryAcquire();
    const b = limit.tryAcquire();
    expect(a && b).toBeTypeOf('function');
    expect(limit.tryAcquire()).toBeUndefined();
    a!();
    expect(limit.held()).toBe(1);
    expect(limit.tryAcquire()).toBeTypeOf('function');
  });

  it('frees one slot however often a release is called', () => {
    const limit = createConcurrencyLimit(2);
    const a = limit.tryAcquire()!;
    limit.tryAcquire();
    a();
    a();
    expect(limit.held()).toBe(1);
  });

  it('counts each key on its own and forgets keys that hold nothing', () => {
    const limit = createConcurrencyLimit(1);
    const first = limit.tryAcquire('key_a')!;
    expect(limit.tryAcquire('key_a')).toBeUndefined();
    expect(limit.tryAcquire('key_b')).toBeTypeOf('function');
    first();
    expect(limit.held('key_a')).toBe(0);
    expect(limit.tryAcquire('key_a')).toBeTypeOf('function');
  });
});
