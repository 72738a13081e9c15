/**
 * What the topologies report of their progress, per partition, for GET
 * /pipeline: each topology's watermark (the lowest of its partitions), its
 * open windows and the late events it has counted, all projects together.
 */
import type { ClickHouseClient } from '@clickhouse/client';

export interface TopologyProgress {
  topology: string;
  /** The lowest watermark over its partitions, epoch ms. */
  watermark: number;
  partitions: Array<{ partition: number; watermark: number; open_windows: number; late_events: number }>;
  open_windows: number;
  late_events: number;
}

export async function topologyProgress(client: ClickHouseClient): Promise<TopologyProgress[]> {
  const result = await client.query({
    query: `SELECT topology, partition, toUnixTimestamp64Milli(watermark) AS watermark, open_windows, late_events
            FROM topology_watermarks FINAL ORDER BY topology, partition`,
    format: 'JSONEachRow',
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await result.json<{ topology: string; partition: number; watermark: number; open_windows: number; late_events: number }>();
  const byTopology = new Map<string, TopologyProgress>();
  for (const { topology, ...partition } of rows) {
    const progress = byTopology.get(topology) ?? { topology, watermark: partition.watermark, partitions: [], open_windows: 0, late_events: 0 };
    progress.partitions.push(partition);
    progress.watermark = Math.min(progress.watermark, partition.watermark);
    progress.open_windows += partition.open_windows;
    progress.late_events += partition.late_events;
    byTopology.set(topology, progress);
  }
  return [...byTopology.values()];
}
