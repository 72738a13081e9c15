import { describe, expect, it } from 'vitest';
import { gatherRounds } from './rounds.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('gatherRounds', () => {
  it('hands everything submitted in one turn, microtasks included, to one round, in order', async () => {
    const rounds: number[][] = [];
    const submit = gatherRounds<number>(async (items) => void rounds.push(items));
    const done = [submit(1), submit(2), Promise.resolve().then(() => submit(3))];
    await Promise.all(done);
    expect(rounds).toEqual([[1, 2, 3]]);
  });

  it('starts a new round for what arrives in a later turn, without waiting for the running one', async () => {
    const rounds: string[][] = [];
    let release!: () => void;
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    const submit = gatherRounds<string>(async (items) => {
      rounds.push(items);
      if (items.includes('a')) await firstHeld;
    });
    let firstSettled = false;
    const first = submit('a').then(() => (firstSettled = true));
    await nextTurn();
    const second = submit('b');
    await second;
    expect(rounds).toEqual([['a'], ['b']]);
    expect(firstSettled).toBe(false);
    release();
    await first;
  });

  it('gives every submitter of a failed round its error, and the next round runs on', async () => {
    const failure = new Error('sink down');
    let calls = 0;
    const submit = gatherRounds<number>(async () => {
      calls += 1;
      if (calls === 1) throw failure;
    });
    const results = await Promise.allSettled([submit(1), submit(2)]);
    expect(results).toEqual([
      { status: 'rejected', reason: failure },
      { status: 'rejected', reason: failure },
    ]);
    await expect(submit(3)).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
