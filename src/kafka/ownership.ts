/**
 * Fencing: whether this member still owns what it was assigned, so a round
 * whose partitions went to another member neither writes window results nor
 * commits. kafkajs' `isStale()` only turns true after a seek, so ownership is
 * tracked here, by the member's own record of the group:
 *
 * - each assignment (a group join) starts a new term; a round claims the term
 *   it was taken in, and holds only while that term lasts;
 * - the term ends when the partitions are given up (the revocation hook,
 *   after the round finishing there committed), when a heartbeat says the
 *   coordinator no longer knows the member or its generation (evicted: its
 *   partitions may already be someone else's), and on shutdown;
 * - a lease: without a heartbeat the broker accepted for a whole session
 *   timeout, the coordinator may have evicted the member without it hearing
 *   of it, so the term ends; a heartbeat that gets through again (the broker
 *   was away, not the member) starts a new one on the same assignment.
 *
 * Each change is told to the listeners, which abort the work of the rounds
 * that lost their claim.
 */

/** The term a round was taken in. */
export interface Claim {
  readonly term: number;
}

/** What a heartbeat told: still a member (a rebalance may be pending), evicted, or nothing (the broker did not answer). */
export type HeartbeatResult = 'member' | 'evicted' | 'unknown';

/** kafkajs error types that mean the coordinator dropped this member or its generation. */
const EVICTED = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);

/** How a heartbeat's outcome reads: a rebalance in progress still answers for the member. */
export function heartbeatResult(error: unknown): HeartbeatResult {
  if (error === undefined) return 'member';
  const type = (error as { type?: unknown }).type;
  if (type === 'REBALANCE_IN_PROGRESS') return 'member';
  return typeof type === 'string' && EVICTED.has(type) ? 'evicted' : 'unknown';
}

export class Ownership {
  private term = 0;
  private held = false;
  /** The term ended for want of heartbeats, not by a revocation: a heartbeat answered as a member starts a new one. */
  private lapsed = false;
  private lastHeartbeat = Number.NEGATIVE_INFINITY;
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly sessionTimeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Called when ownership may have ended. */
  onLoss(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** A new assignment: a new term, held from now. */
  assigned(): void {
    this.term += 1;
    this.held = true;
    this.lapsed = false;
    this.lastHeartbeat = this.clock();
  }

  /** The partitions were given up (revoked, left, evicted, shut down): every claim ends. */
  revoked(): void {
    this.lapsed = false;
    this.end();
  }

  /** Still holding a term (an assignment not given up). */
  get holding(): boolean {
    return this.held;
  }

  heartbeat(result: HeartbeatResult): void {
    if (result === 'evicted') return this.revoked();
    if (result !== 'member') return;
    this.lastHeartbeat = this.clock();
    if (this.lapsed) this.assigned();
  }

  private end(): void {
    if (!this.held) return;
    this.held = false;
    this.term += 1;
    for (const listener of this.listeners) listener();
  }

  claim(): Claim {
    return { term: this.term };
  }

  /** The claim's term lasts, and the lease is fresh; a stale lease ends the term. */
  holds(claim: Claim): boolean {
    if (this.held && this.clock() - this.lastHeartbeat >= this.sessionTimeoutMs) {
      this.end();
      this.lapsed = true;
    }
    return this.held && claim.term === this.term;
  }
}
