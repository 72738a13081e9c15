import { describe, expect, it } from 'vitest';
import { Ownership, heartbeatResult } from './ownership.js';

function ownership() {
  let now = 0;
  const owned = new Ownership(10_000, () => now);
  return { owned, advance: (ms: number) => (now += ms) };
}

describe('Ownership', () => {
  it('a claim holds for the term it was taken in only', () => {
    const { owned } = ownership();
    owned.assigned();
    const first = owned.claim();
    expect(owned.holds(first)).toBe(true);
    owned.revoked();
    expect(owned.holds(first)).toBe(false);
    owned.assigned(); // the same partitions again, a new term: the old round's claim stays void
    expect(owned.holds(first)).toBe(false);
    expect(owned.holds(owned.claim())).toBe(true);
  });

  it('ends the term when a heartbeat says the member was evicted, and tells the listeners', () => {
    const { owned } = ownership();
    let losses = 0;
    owned.onLoss(() => (losses += 1));
    owned.assigned();
    const claim = owned.claim();
    owned.heartbeat(heartbeatResult({ type: 'REBALANCE_IN_PROGRESS' }));
    expect(owned.holds(claim)).toBe(true);
    owned.heartbeat(heartbeatResult({ type: 'UNKNOWN_MEMBER_ID' }));
    expect(owned.holds(claim)).toBe(false);
    expect(losses).toBe(1);
  });

  it('ends the term once no heartbeat got through for a session timeout', () => {
    const { owned, advance } = ownership();
    owned.assigned();
    const claim = owned.claim();
    advance(9_000);
    owned.heartbeat(heartbeatResult(new Error('connect ECONNREFUSED'))); // unanswered: the lease is not renewed
    advance(500);
    expect(owned.holds(claim)).toBe(true);
    owned.heartbeat('member');
    advance(9_999);
    expect(owned.holds(claim)).toBe(true);
    advance(1);
    expect(owned.holds(claim)).toBe(false);
    owned.heartbeat('member'); // the broker was away, not the member: a new term on the same assignment
    expect(owned.holds(claim)).toBe(false);
    expect(owned.holds(owned.claim())).toBe(true);
  });

  it('a heartbeat answered after a revocation does not restore the term', () => {
    const { owned } = ownership();
    owned.assigned();
    owned.revoked();
    owned.heartbeat('member');
    expect(owned.holding).toBe(false);
  });

  it('reads heartbeat errors: evicted for an unknown member or generation, unknown for the rest', () => {
    expect(heartbeatResult(undefined)).toBe('member');
    expect(heartbeatResult({ type: 'ILLEGAL_GENERATION' })).toBe('evicted');
    expect(heartbeatResult({ type: 'FENCED_INSTANCE_ID' })).toBe('evicted');
    expect(heartbeatResult({ type: 'NOT_COORDINATOR_FOR_GROUP' })).toBe('unknown');
  });
});
