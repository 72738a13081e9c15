import { describe, expect, it } from 'vitest';
import { messageDefaults, type TrackedEvent } from '../model/event.js';
import { activityAggregator } from './aggregates.js';

const event = (action: string, timestamp: number, amount: number): TrackedEvent => ({
  event_id: '',
  project_id: 'default',
  user_id: 'u1',
  action,
  timestamp,
  sent_at: null,
  received_at: timestamp,
  session_id: null,
  properties: { amount },
  context: null,
  warnings: [],
  ...messageDefaults(),
});

describe('activityAggregator', () => {
  const aggregator = activityAggregator({ numericProperties: ['amount'] });

  it('clones a snapshot that later events leave alone', () => {
    const live = aggregator.add(aggregator.init(), event('view', 1_000, 5));
    const snapshot = aggregator.clone(live);
    aggregator.add(live, event('view', 2_000, 7));
    aggregator.add(live, event('buy', 3_000, 1));
    expect(snapshot).toEqual({
      events: 1,
      actions: { view: 1 },
      firstEventAt: 1_000,
      lastEventAt: 1_000,
      numeric: { amount: { count: 1, sum: 5, min: 5, max: 5 } },
    });
    expect(live).toEqual({
      events: 3,
      actions: { view: 2, buy: 1 },
      firstEventAt: 1_000,
      lastEventAt: 3_000,
      numeric: { amount: { count: 3, sum: 13, min: 1, max: 7 } },
    });
  });

  it('merges two aggregates of one key', () => {
    const a = aggregator.add(aggregator.init(), event('view', 1_000, 5));
    const b = aggregator.add(aggregator.add(aggregator.init(), event('buy', 500, 2)), event('view', 4_000, 9));
    expect(aggregator.merge(a, b)).toEqual({
      events: 3,
      actions: { view: 2, buy: 1 },
      firstEventAt: 500,
      lastEventAt: 4_000,
      numeric: { amount: { count: 3, sum: 16, min: 2, max: 9 } },
    });
  });
});
