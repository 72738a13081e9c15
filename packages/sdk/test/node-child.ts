/**
 * A Node process using the SDK, for src/node.test.ts: queues three events
 * (the interval is a minute away) and prints their ids; then, by the mode in
 * argv[3], waits for a signal (`signal`) or closes with a 300 ms deadline and
 * expects to end by itself (`close`).
 */
import { createStreamTrack } from '../src/node.js';

const st = createStreamTrack({ writeKey: 'st_wk_child', host: process.argv[2]!, flushAt: 100, flushIntervalMs: 60_000 });
const ids = [st.track('a', {}, { userId: 'u' }), st.track('b', {}, { userId: 'u' }), st.track('c', {}, { userId: 'u' })];
console.log(JSON.stringify(ids));
if (process.argv[3] === 'close') await st.close(300);
