/**
 * Stores events as a worker would, in process: raw events by the worker's
 * insert, folded by the real topologies (user-activity-1m, user-sessions)
 * round by round, results, late events and watermarks written by the real
 * sinks; the rollups follow from the migrations' views. `replayRound`: that
 * round is replayed after a crash (the same records again, flagged
 * replayed), and the round before it's results are written again after
 * newer ones (a retried write): both must change nothing.
 */
import type { Config } from '../src/config.js';
import type { TrackedEvent } from '../src/model/event.js';
import type { ClickHouseClient } from '../src/storage/clickhouse.js';
import { insertEvents, toRow } from '../src/storage/events-table.js';
import { recordLateEvents, recordWatermarks, writeActivityResults, writeSessionResults } from '../src/storage/window-results.js';
import { PartitionedWindows, type PositionedEvent } from '../src/stream/partitioned-windows.js';
import { userActivityTopology } from '../topology/user-activity.js';
import { userSessionsTopology } from '../topology/user-sessions.js';

export async function storeAndFold(
  config: Config,
  clickhouse: ClickHouseClient,
  events: TrackedEvent[],
  { batch = 1_000, replayRound }: { batch?: number; replayRound?: number } = {},
): Promise<{ late: number }> {
  const activity = new PartitionedWindows(userActivityTopology(config.topology));
  const sessions = new PartitionedWindows(userSessionsTopology(config.topology));
  let late = 0;
  const round = async (list: TrackedEvent[], first: bigint, replayed: boolean, token: string) => {
    const positioned: PositionedEvent[] = list.map((event, i) => ({ event, offset: first + BigInt(i), replayed }));
    const rows = positioned.map(({ event, offset }) => toRow(event, { topic: config.kafka.eventsTopic, partition: 0, offset: String(offset) }, 1));
    const refused = await insertEvents(clickhouse, rows, `events:${token}`);
    if (refused.length > 0) throw new Error(`${refused.length} events refused`);
    const [a, s] = [activity.process(0, positioned, Date.now()), sessions.process(0, positioned, Date.now())];
    await writeActivityResults(clickhouse, activity.topology.name, a.results, { retry: replayed, token: `activity:${token}` });
    await writeSessionResults(clickhouse, sessions.topology.name, s.results);
    await recordLateEvents(clickhouse, [
      { topology: activity.topology.name, late: a.late },
      { topology: sessions.topology.name, late: s.late },
    ]);
    late += a.late.length;
    return a.results;
  };
  let offset = 0n;
  let previous: Awaited<ReturnType<typeof round>> = [];
  for (let from = 0, n = 0; from < events.length; from += batch, n++) {
    const list = events.slice(from, from + batch);
    const results = await round(list, offset, false, String(from));
    if (n === replayRound) {
      await round(list, offset, true, String(from));
      await writeActivityResults(clickhouse, activity.topology.name, previous, { retry: true, token: `stale:${from}` });
    }
    previous = results;
    offset += BigInt(list.length);
  }
  await recordWatermarks(
    clickhouse,
    [activity, sessions].map((w) => ({ topology: w.topology.name, partition: 0, watermark: w.watermark(0), openWindows: 0, lateEvents: late })),
  );
  return { late };
}
