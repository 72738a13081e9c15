/**
 * Drives rounds of partition batches through the handlers (the worker's
 * pipeline), over a consumer behind a small port, so its rules are tested
 * with a fake consumer (round-driver.test.ts) and kafkajs stays in
 * batch-consumer.ts. Each round's life is a RoundLifecycle:
 *
 *   taken -> stored -> folded     taking it in (the handlers' `process`)
 *   -> written -> committed       finishing it (`finish`, then the commit)
 *   -> rewound                    instead, if it failed, lost its owner or ran out of shutdown grace
 *
 * Rounds are an Observable: kafkajs' batches gathered per turn of the event
 * loop (a whole fetch, src/stream/rounds.ts), taken in with concatMap, one
 * at a time and in order. Two rounds overlap: once round k is folded and round k-1 is finished,
 * kafkajs is let go to fetch round k+1 while round k finishes. So at most two
 * rounds are in memory and finishes and commits keep the rounds' order.
 * Before the member gives up its partitions (a rebalance, leaving the group)
 * it waits for the round still finishing (`revoking`, a hook in kafkajs'
 * runner, patches/README.md). A round that fails to finish is read again as
 * after a rejoin: its partitions are sought back to their commits and the
 * handlers' state is reset; a round taken in meanwhile is not let go.
 *
 * Fencing (ownership.ts): a round holds a claim on the term it was taken in.
 * Once the term ends (revoked, evicted, the lease of heartbeats lapsed, the
 * shutdown grace spent), the round's signal aborts, its steps stop, and it
 * neither writes as the owner nor commits. A timer heartbeats while any
 * round is in flight, so a long write does not cost the member its session.
 *
 * Between rounds, a timer (`punctuateEveryMs`) lets the handlers do work
 * driven by the wall clock on the partitions held; it runs only while no
 * round is being taken in, is chained after the round finishing, and commits
 * nothing (the next round's commit carries its effects).
 */
import { concatMap, Subject } from 'rxjs';
import type { Logger } from '../logger.js';
import { secondsSince } from '../observability/metrics.js';
import { byTurn } from '../stream/rounds.js';
import { heartbeatResult, type Claim, type Ownership } from './ownership.js';
import { RoundLifecycle, type RewindReason } from './round-lifecycle.js';
import {
  AbandonedError,
  type BatchHandlers,
  type ConsumerObserver,
  type ConsumerPort,
  type HeldPartition,
  type PartitionBatch,
  type RoundContext,
  type TakenBatch,
  type TakenRound,
} from './round-handlers.js';

export interface RoundDriverOptions {
  ownership: Ownership;
  /** Wall time between heartbeats while a round is in flight. */
  heartbeatEveryMs: number;
  /** Wall time between two calls of the handlers' `punctuate` (none without it). */
  punctuateEveryMs?: number;
  logger: Logger;
  observer?: ConsumerObserver;
  /** Told of each round as it is taken (tests follow its lifecycle). */
  onRound?(lifecycle: RoundLifecycle): void;
}

/** Work in flight under a claim: a round, or a punctuation's writes. */
interface Claimed {
  claim: Claim;
  abort: AbortController;
}

/** A batch of a round, with when it was handed over. */
type Member = TakenBatch & { started: number };

/** A batch handed over, with how to settle kafkajs' wait for it. */
interface Submitted {
  member: Member;
  settle(error?: unknown): void;
}

interface Round extends Claimed {
  lifecycle: RoundLifecycle;
  members: Member[];
}

export function createRoundDriver(port: ConsumerPort, handlers: BatchHandlers, options: RoundDriverOptions) {
  const { ownership, logger, observer } = options;
  let rounds = 0;
  /** Rounds taken in or finishing, and punctuations writing: what loses its claim aborts. */
  const inFlight = new Set<Claimed>();
  /** The round let go to finish (its writes and commit), after the ones before it: settles either way. */
  let finishing: Promise<void> = Promise.resolve();
  /** The round being taken in: the handlers' state must not be reset under it. */
  let taking: Round | undefined;
  /** The batches of a round let go that did not finish (none for a punctuation), until they are sought back. */
  let rewinding: PartitionBatch[] | undefined;
  /** A punctuation's writes, while they are computed or queued. */
  let punctuation: Claimed | undefined;
  /** Each partition's last round taken in, for punctuation; dropped with the handlers' state. */
  let held = new Map<number, HeldPartition>();
  /** Counts resets of the handlers' state: work computed before one is void. */
  let resets = 0;
  let stopping = false;

  ownership.onLoss(() => {
    for (const work of inFlight) work.abort.abort(new AbandonedError('the partitions are no longer this member\'s'));
  });

  function claimed(): Claimed {
    const work = { claim: ownership.claim(), abort: new AbortController() };
    inFlight.add(work);
    return work;
  }

  function begin(members: Round['members']): Round {
    const round: Round = { claim: ownership.claim(), abort: new AbortController(), lifecycle: new RoundLifecycle(++rounds), members };
    inFlight.add(round);
    return round;
  }

  function owned(work: Claimed): boolean {
    return !work.abort.signal.aborted && ownership.holds(work.claim);
  }

  function contextOf(work: Claimed, lifecycle?: RoundLifecycle): RoundContext {
    return {
      owned: () => owned(work),
      signal: work.abort.signal,
      progress: (state) => lifecycle?.to(state),
    };
  }

  /** Rewinds a round that will not commit; why: it failed, or it is not this member's to finish. */
  function settleUnfinished(round: Round): RewindReason {
    const reason: RewindReason = stopping && round.abort.signal.aborted ? 'shutdown' : owned(round) ? 'failed' : 'revoked';
    round.lifecycle.rewind(reason);
    inFlight.delete(round);
    return reason;
  }

  function resetHandlers() {
    resets += 1;
    held = new Map();
    handlers.onAssignment();
  }

  /**
   * Reads a round that failed to finish again, as a rejoin would: its
   * partitions go back to where it began, which the last commits name, and
   * the handlers drop their state, to restore it from the commits and
   * checkpoints. Every other partition is already at its commit: a round is
   * let go only once the one before it finished. Sought even when the term
   * ended: a lapsed lease may come back without a rejoin, and a seek to a
   * round's start (its partitions' commit) never skips a record.
   */
  function rewind() {
    const batches = rewinding!;
    rewinding = undefined;
    resetHandlers();
    if (stopping) return;
    for (const batch of batches) port.seek({ topic: batch.topic, partition: batch.partition, offset: batch.firstOffset });
    logger.warn({ partitions: batches.map((b) => b.partition) }, 'reading again from the commits');
  }

  async function finishRound(round: Round, taken: TakenRound) {
    try {
      await taken.finish();
      round.lifecycle.to('written');
      // Fenced while writing: the partitions' next owner replays from the last commit.
      if (!owned(round)) throw new AbandonedError('the partitions are no longer this member\'s');
      await port.commit(round.members.map(({ batch }, i) => ({ topic: batch.topic, partition: batch.partition, ...taken.commits[i]! })));
      round.lifecycle.to('committed');
      inFlight.delete(round);
    } catch (error) {
      const reason = settleUnfinished(round);
      logger.warn({ err: error, reason, partitions: round.members.map((m) => m.batch.partition) }, 'round did not finish; not committed');
      rewinding = round.members.map((m) => m.batch);
      if (!taking) rewind();
      return;
    }
    for (const member of round.members) {
      const { batch } = member;
      observer?.committed({
        topic: batch.topic,
        partition: batch.partition,
        records: batch.records.length,
        seconds: secondsSince(member.started),
        lag: Number(BigInt(member.highWatermark) - BigInt(batch.lastOffset) - 1n),
      });
    }
  }

  /** Takes a round in: it is let go (kafkajs fetches on) only once it is folded and the round before it finished. */
  async function takeIn(gathered: Member[]) {
    // A batch fetched before a rewind's seek: its partition is read again from the seek.
    const members = gathered.filter((m) => !m.isStale());
    // Shutting down: left unresolved, for the partitions' next owner.
    if (members.length === 0 || stopping) return;
    const round = begin(members);
    options.onRound?.(round.lifecycle);
    taking = round;
    let taken: TakenRound | undefined;
    try {
      taken = await handlers.process(members.map((m) => m.batch), contextOf(round, round.lifecycle));
      await finishing;
    } catch (error) {
      const reason = settleUnfinished(round);
      if (!(error instanceof AbandonedError) && reason === 'failed') throw error;
      // Abandoned (not ours, or out of grace): not let go, so kafkajs fetches it again if a
      // rejoin does not hand the partitions elsewhere; what it folded is dropped.
      logger.warn({ err: error, reason, partitions: members.map((m) => m.batch.partition) }, 'round abandoned while taken in');
      if (!stopping) resetHandlers();
      return;
    } finally {
      taking = undefined;
      // The previous round was rewound while this one was taken in (or failed to be).
      if (rewinding) {
        rewind();
        // Taken in on state that is now dropped: not let go, so kafkajs fetches it again.
        settleUnfinished(round);
      }
    }
    if (round.lifecycle.settled) return;
    if (!owned(round)) {
      // Lost while waiting for the round before: not let go, and what it folded is dropped.
      settleUnfinished(round);
      if (!stopping) resetHandlers();
      return;
    }
    if (round.lifecycle.state !== 'folded') throw new Error(`round ${round.lifecycle.id} was let go ${round.lifecycle.state}, not folded`);
    for (const member of members) {
      member.resolveOffset(member.batch.lastOffset); // advances the fetch position
      const caughtUp = BigInt(member.highWatermark) - BigInt(member.batch.lastOffset) - 1n <= 0n;
      held.set(member.batch.partition, { batch: member.batch, caughtUp });
    }
    finishing = finishRound(round, taken);
  }

  /**
   * kafkajs' batches, a round per turn of the event loop (a whole fetch),
   * taken in one at a time and in order: a round's batches are settled (the
   * runner goes on to the next fetch) once it is let go, so at most two rounds
   * are in memory, the one finishing and the one taken in.
   */
  const batches = new Subject<Submitted>();
  batches
    .pipe(
      byTurn(),
      concatMap(async (round) => {
        try {
          await takeIn(round.map((s) => s.member));
          for (const s of round) s.settle();
        } catch (error) {
          for (const s of round) s.settle(error);
        }
      }),
    )
    .subscribe();

  /**
   * Computed now (no round is being taken in, so the handlers' state is
   * still), written after the round finishing: writes keep the rounds' order.
   */
  function punctuate() {
    if (!handlers.punctuate || !ownership.holding || stopping || taking || punctuation || rewinding) return;
    const partitions = [...held.values()];
    if (partitions.length === 0) return;
    const work = claimed();
    const write = handlers.punctuate(partitions, contextOf(work));
    if (!write) {
      inFlight.delete(work);
      return;
    }
    punctuation = work;
    const computedIn = resets;
    finishing = finishing.then(async () => {
      try {
        // The state it was computed on is gone; or leaving: the next owner restores the windows and emits what is due.
        if (computedIn !== resets || stopping) return;
        await write();
      } catch (error) {
        if (computedIn !== resets) return;
        logger.warn({ err: error, partitions: partitions.map((h) => h.batch.partition) }, 'punctuation failed to write; reading again from the commits');
        rewinding ??= [];
        if (!taking) rewind();
      } finally {
        inFlight.delete(work);
        punctuation = undefined;
      }
    });
  }

  /** While a round is in flight the runner may not heartbeat for long: this does, and checks the lease. */
  function heartbeat(send: () => Promise<void>) {
    if (inFlight.size === 0) return;
    const { term } = ownership.claim();
    void send().then(
      () => 'member' as const,
      (error: unknown) => {
        logger.debug({ err: error }, 'heartbeat refused');
        return heartbeatResult(error);
      },
    ).then((result) => {
      // An answer to a heartbeat of an earlier term says nothing about this one.
      if (ownership.claim().term === term) ownership.heartbeat(result);
      for (const work of inFlight) if (!owned(work)) work.abort.abort(new AbandonedError('the partitions are no longer this member\'s'));
    });
  }

  const timers = [
    setInterval(() => heartbeat(() => port.heartbeat()), options.heartbeatEveryMs),
    ...(options.punctuateEveryMs && handlers.punctuate ? [setInterval(punctuate, options.punctuateEveryMs)] : []),
  ];
  for (const timer of timers) timer.unref();

  return {
    /** A batch from kafkajs: joins the round of its turn of the event loop; settles once that round is let go. */
    take: (batch: TakenBatch) =>
      new Promise<void>((resolve, reject) =>
        batches.next({ member: { ...batch, started: performance.now() }, settle: (error) => (error === undefined ? resolve() : reject(error)) }),
      ),
    /** A new assignment: a new term, the handlers' state reset. */
    assigned() {
      rewinding = undefined; // the new assignment starts from the commits
      ownership.assigned();
      resetHandlers();
      observer?.assigned();
    },
    /** Before the partitions are given up: the round finishing commits first, then the term ends. */
    async revoking() {
      await finishing;
      ownership.revoked();
    },
    /**
     * Shutting down: no new round is taken in; what is in flight may finish
     * and commit for `drainMs`, then it is abandoned (not committed; the
     * partitions' next owner reads it again).
     */
    stop(drainMs: number) {
      stopping = true;
      const drained = setTimeout(() => {
        for (const work of inFlight) work.abort.abort(new AbandonedError('the shutdown grace ran out'));
      }, drainMs);
      drained.unref();
      for (const timer of timers) clearInterval(timer);
      // Heartbeats go on while what is in flight drains (the runner waits for it).
      const beat = setInterval(() => heartbeat(() => port.heartbeat()), options.heartbeatEveryMs);
      beat.unref();
      return () => {
        clearTimeout(drained);
        clearInterval(beat);
      };
    },
    /** Stops the timers (the consumer crashed for good). */
    close() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}

export type RoundDriver = ReturnType<typeof createRoundDriver>;
