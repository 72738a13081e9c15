/**
 * A TrackedEvent as tests write it straight to storage: the fields a test
 * names, the rest as the API would leave them for a plain track call (a fresh
 * id, received when it happened, no session, properties or context).
 */
import { randomUUID } from 'node:crypto';
import { messageDefaults, type TrackedEvent } from '../src/model/event.js';

export function trackedEvent(fields: Pick<TrackedEvent, 'project_id' | 'user_id' | 'action' | 'timestamp'> & Partial<TrackedEvent>): TrackedEvent {
  return {
    event_id: randomUUID(),
    sent_at: null,
    received_at: fields.timestamp,
    session_id: null,
    properties: {},
    context: null,
    warnings: [],
    ...messageDefaults(),
    ...fields,
  };
}
