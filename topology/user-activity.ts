/**
 * Topology `user-activity-1m`: per user, 1-minute tumbling windows of event
 * time with 30 s of grace; events, per-action counts, first/last event time,
 * and sum/min/max of numeric properties named in the config. Rolling updates
 * every 10 s of event time while a window is open, then the final result.
 * Late events are counted and dropped from the aggregate (the raw event is
 * stored regardless). Minute results roll up to hours and days in ClickHouse.
 * State is bounded: past TOPOLOGY_MAX_OPEN_WINDOWS open windows in a
 * partition, new users' events count under the user `$other`; past
 * TOPOLOGY_MAX_ACTIONS_PER_WINDOW actions in a window, new actions under the
 * action `$other` (streamtrack_windows_shed_total counts both).
 */
import type { Config } from '../src/config.js';
import { activityAggregator } from '../src/stream/aggregates.js';
import { activityMinutes } from '../src/storage/sinks.js';
import { rolling, stream, userKey, userOverflowKey } from '../src/stream/topology.js';
import { minutes, tumbling } from '../src/stream/windows.js';

export function userActivityTopology(config: Config['topology']) {
  return stream('user-activity-1m', 'events')
    .groupBy('user', userKey, userOverflowKey)
    .windowedBy(tumbling(minutes(1)), { grace: config.graceMs, maxOpenWindows: config.maxOpenWindows })
    .aggregate(activityAggregator({ numericProperties: config.numericProperties, maxActions: config.maxActionsPerWindow }))
    .emit(rolling(config.rollingUpdateMs))
    .onLate(config.latePolicy)
    .to(activityMinutes);
}
