/**
 * A round's life as an explicit state machine. A round (every partition
 * batch of one fetch) is
 *
 *   taken -> stored -> folded -> written -> committed
 *
 * taken: handed over by kafkajs; stored: its raw events are in ClickHouse;
 * folded: its windows hold its events (its commit points are known);
 * written: its window results and checkpoints are stored; committed: its
 * offsets are. From any state before committed it may be rewound instead:
 * it failed, its partitions were revoked or its member fenced, or the
 * shutdown grace ran out, and its partitions are read again from their
 * commits (by this member or their next owner). Any other move is a bug and
 * throws, so the consumer's rules are checked where they are used.
 */
export type RoundState = 'taken' | 'stored' | 'folded' | 'written' | 'committed' | 'rewound';

/** Why a round was rewound. */
export type RewindReason = 'failed' | 'revoked' | 'shutdown';

const NEXT: Record<RoundState, readonly RoundState[]> = {
  taken: ['stored', 'rewound'],
  stored: ['folded', 'rewound'],
  folded: ['written', 'rewound'],
  written: ['committed', 'rewound'],
  committed: [],
  rewound: [],
};

export class IllegalRoundTransition extends Error {}

export class RoundLifecycle {
  private current: RoundState = 'taken';
  private readonly visited: RoundState[] = ['taken'];
  rewindReason: RewindReason | undefined;

  constructor(readonly id: number) {}

  get state(): RoundState {
    return this.current;
  }

  /** Every state the round was in, in order. */
  get history(): readonly RoundState[] {
    return this.visited;
  }

  /** Committed or rewound: nothing more happens to it. */
  get settled(): boolean {
    return NEXT[this.current].length === 0;
  }

  to(next: Exclude<RoundState, 'rewound'>): void {
    if (!NEXT[this.current].includes(next)) throw new IllegalRoundTransition(`round ${this.id}: ${this.current} -> ${next} is not a step of a round`);
    this.current = next;
    this.visited.push(next);
  }

  /** Rewinds it unless it is already settled; true if this call did. */
  rewind(reason: RewindReason): boolean {
    if (this.settled) return false;
    this.current = 'rewound';
    this.rewindReason = reason;
    this.visited.push('rewound');
    return true;
  }
}
