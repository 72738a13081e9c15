/**
 * A Node process using the SDK, for src/node.test.ts: queues three events
 * (the interval is a minute away), prints their ids, and waits for a signal.
 */
import { createStreamTrack } from '../src/node.js';

const st = createStreamTrack({ writeKey: 'st_wk_child', host: process.argv[2]!, flushAt: 100, flushIntervalMs: 60_000 });
const ids = [st.track('a', {}, { userId: 'u' }), st.track('b', {}, { userId: 'u' }), st.track('c', {}, { userId: 'u' })];
console.log(JSON.stringify(ids));
