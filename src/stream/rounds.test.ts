import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { byTurn } from './rounds.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('byTurn', () => {
  it('gathers everything that arrives in one turn, microtasks included, into one round, in order', async () => {
    const items = new Subject<number>();
    const rounds: number[][] = [];
    items.pipe(byTurn()).subscribe((round) => rounds.push(round));
    items.next(1);
    items.next(2);
    await Promise.resolve().then(() => items.next(3));
    await nextTurn();
    expect(rounds).toEqual([[1, 2, 3]]);
  });

  it('starts a new round for what arrives in a later turn, and emits nothing for a turn without items', async () => {
    const items = new Subject<string>();
    const rounds: string[][] = [];
    items.pipe(byTurn()).subscribe((round) => rounds.push(round));
    items.next('a');
    await nextTurn();
    await nextTurn();
    items.next('b');
    await nextTurn();
    expect(rounds).toEqual([['a'], ['b']]);
  });
});
