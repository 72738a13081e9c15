import { describe, expect, it } from 'vitest';
import { createRateLimiter, rateLimitHeaders } from './rate-limit.js';

describe('rate limiter', () => {
  it('admits a second of the rate, then refuses with the wait until the next event fits', () => {
    let t = 0;
    const limiter = createRateLimiter(() => t);
    expect(limiter.take('k', 'write', 10, 10).allowed).toBe(true);
    const refused = limiter.take('k', 'write', 10, 1);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1, quota: 10 });
    t = 100;
    expect(limiter.take('k', 'write', 10, 1).allowed).toBe(true);
  });

  it('counts subjects and policies apart', () => {
    const limiter = createRateLimiter(() => 0);
    expect(limiter.take('a', 'write', 1, 1).allowed).toBe(true);
    expect(limiter.take('b', 'write', 1, 1).allowed).toBe(true);
    expect(limiter.take('a', 'read', 1, 1).allowed).toBe(true);
    expect(limiter.take('a', 'write', 1, 1).allowed).toBe(false);
  });

  it('admits a batch larger than the bucket when it is full, and the debt holds the average rate', () => {
    let t = 0;
    const limiter = createRateLimiter(() => t);
    expect(limiter.take('k', 'write', 100, 500).allowed).toBe(true);
    t = 4_000;
    expect(limiter.take('k', 'write', 100, 1).allowed).toBe(false);
    t = 5_000;
    expect(limiter.take('k', 'write', 100, 100).allowed).toBe(true);
  });

  it('says so in the IETF header fields', () => {
    const limiter = createRateLimiter(() => 0);
    limiter.take('k', 'read', 20, 1);
    expect(rateLimitHeaders(limiter.take('k', 'read', 20, 1))).toEqual({ 'RateLimit-Policy': '"read";q=20;w=1', RateLimit: '"read";r=18;t=1' });
  });

  it('forgets full buckets, so the map holds only subjects seen lately', () => {
    let t = 0;
    const limiter = createRateLimiter(() => t);
    for (let i = 0; i < 1_000; i++) limiter.take(`k${i}`, 'read', 10, 1);
    expect(limiter.size()).toBe(1_000);
    t = 61_000;
    limiter.take('fresh', 'read', 10, 1);
    expect(limiter.size()).toBe(1);
  });
});
