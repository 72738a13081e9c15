/**
 * Topology `user-sessions`: per user, sessions that end after an inactivity
 * gap (30 minutes by default); events, per-action counts and duration.
 * Rolling updates while a session is open, a final result once the
 * watermark passes its end plus grace; merged sessions are retracted.
 */
import type { Config } from '../src/config.js';
import { activityAggregator } from '../src/stream/aggregates.js';
import { userSessions } from '../src/storage/sinks.js';
import { rolling, stream, userKey, userOverflowKey } from '../src/stream/topology.js';
import { session } from '../src/stream/windows.js';

export function userSessionsTopology(config: Config['topology']) {
  return stream('user-sessions', 'events')
    .groupBy('user', userKey, userOverflowKey)
    .windowedBy(session(config.sessionGapMs), { grace: config.graceMs, maxOpenWindows: config.maxOpenWindows })
    .aggregate(activityAggregator({ maxActions: config.maxActionsPerWindow }))
    .emit(rolling(config.rollingUpdateMs))
    .onLate(config.latePolicy)
    .to(userSessions);
}
