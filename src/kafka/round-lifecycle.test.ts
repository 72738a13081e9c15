import { describe, expect, it } from 'vitest';
import { IllegalRoundTransition, RoundLifecycle } from './round-lifecycle.js';

describe('RoundLifecycle', () => {
  it('goes taken, stored, folded, written, committed, and is then settled', () => {
    const round = new RoundLifecycle(1);
    for (const state of ['stored', 'folded', 'written', 'committed'] as const) round.to(state);
    expect(round.history).toEqual(['taken', 'stored', 'folded', 'written', 'committed']);
    expect(round.settled).toBe(true);
    expect(round.rewind('failed')).toBe(false);
  });

  it('refuses to skip a state or to go back', () => {
    const round = new RoundLifecycle(2);
    expect(() => round.to('folded')).toThrow(IllegalRoundTransition);
    round.to('stored');
    expect(() => round.to('stored')).toThrow(/stored -> stored/);
    expect(() => round.to('committed')).toThrow(IllegalRoundTransition);
  });

  it('may be rewound from any state before committed, once, with its reason', () => {
    for (const before of [[], ['stored'], ['stored', 'folded'], ['stored', 'folded', 'written']] as const) {
      const round = new RoundLifecycle(3);
      for (const state of before) round.to(state);
      expect(round.rewind('revoked')).toBe(true);
      expect(round.rewind('failed')).toBe(false);
      expect(round.rewindReason).toBe('revoked');
      expect(() => round.to('committed')).toThrow(IllegalRoundTransition);
    }
  });
});
