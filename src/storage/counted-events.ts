/**
 * The raw events the window topologies counted, for the insights that read
 * raw events (funnels, retention, trends filtered on properties): those of
 * the project and range, minus the late events the minute topology dropped
 * (`late_events`, not corrected). So a raw read agrees with the rollups, and
 * an answer that was final stays as it was when a late event is stored.
 * Expects the `project`, `from` and `to` parameters of `rangeParams`.
 */
export const COUNTED_EVENTS = `project_id = {project:String}
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND event_id NOT IN (
    SELECT event_id FROM late_events FINAL
    WHERE topology = 'user-activity-1m' AND project_id = {project:String} AND corrected = 0
      AND window_start >= {from:DateTime64(3, 'UTC')} - INTERVAL 1 MINUTE AND window_start < {to:DateTime64(3, 'UTC')})`;
