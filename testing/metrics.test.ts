import { describe, expect, it } from 'vitest';
import { metricValue } from './metrics.js';

const EXPOSITION = `# HELP streamtrack_worker_events_total Consumed records by outcome
# TYPE streamtrack_worker_events_total counter
streamtrack_worker_events_total{outcome="stored"} 120
streamtrack_worker_events_total{outcome="duplicate"} 7
streamtrack_windows_shed_total{topology="user-activity-1m",cap="window"} 3
streamtrack_windows_shed_total{topology="user-sessions",cap="window"} 4
`;

describe('metricValue', () => {
  it('sums the samples whose labels match, and answers 0 for a series not exported yet', () => {
    expect(metricValue(EXPOSITION, 'streamtrack_worker_events_total', { outcome: 'duplicate' })).toBe(7);
    expect(metricValue(EXPOSITION, 'streamtrack_windows_shed_total', { cap: 'window' })).toBe(7);
    expect(metricValue(EXPOSITION, 'streamtrack_worker_events_total')).toBe(127);
    expect(metricValue(EXPOSITION, 'streamtrack_late_events_total')).toBe(0);
  });
});
