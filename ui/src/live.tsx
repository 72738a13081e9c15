/**
 * Live: events as the API accepts them (GET /live/events), newest first,
 * filtered by user and action on the server as you type, pausable; select
 * one to read its full record. At thousands of events a second the page
 * stays responsive: the stream is read and parsed in a Web Worker
 * (live-worker.ts), and the list (the newest SHOWN) is redrawn at most every
 * RENDER_MS, its rows updated in place.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { session, type StoredEvent } from './api.js';
import { ButtonField, EventCells, EventDetail, Field, Problem, Table, clock } from './common.js';
import type { FromWorker, ToWorker } from './live-worker.js';

/** Set by the build (scripts/build-ui.ts): the worker script's hashed name. */
declare const LIVE_WORKER_URL: string;

const SHOWN = 50;
const RENDER_MS = 250;
const FILTER_DEBOUNCE_MS = 300;

export function LivePage() {
  const [user, setUser] = useState('');
  const [action, setAction] = useState('');
  const [filter, setFilter] = useState({ user: '', action: '' });
  const [paused, setPaused] = useState(false);
  const [shown, setShown] = useState<StoredEvent[]>([]);
  const [received, setReceived] = useState(0);
  const [waiting, setWaiting] = useState(0);
  const [status, setStatus] = useState('connecting');
  const [notice, setNotice] = useState<string | undefined>();
  const [refused, setRefused] = useState<string | undefined>();
  const [selected, setSelected] = useState<StoredEvent | undefined>();
  const latest = useRef<StoredEvent[]>([]);
  const pausedRef = useRef(false);
  const receivedAtPause = useRef(0);

  useEffect(() => {
    const t = setTimeout(() => setFilter({ user: user.trim(), action: action.trim() }), FILTER_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [user, action]);

  useEffect(() => {
    latest.current = [];
    setShown([]);
    setReceived(0);
    setWaiting(0);
    setRefused(undefined);
    setNotice(undefined);
    setStatus('connecting');
    const worker = new Worker(LIVE_WORKER_URL);
    worker.addEventListener('message', (e: MessageEvent<FromWorker>) => {
      const message = e.data;
      switch (message.type) {
        case 'events':
          latest.current = message.newest;
          setReceived(message.received);
          if (pausedRef.current) setWaiting(message.received - receivedAtPause.current);
          else setShown(message.newest);
          break;
        case 'notice':
          setNotice(message.text);
          break;
        case 'status':
          setStatus(message.text);
          break;
        case 'refused':
          setRefused(message.text);
          break;
      }
    });
    const start: ToWorker = {
      type: 'start',
      key: session.key(),
      query: { user_id: filter.user || undefined, action: filter.action || undefined },
      shown: SHOWN,
      renderMs: RENDER_MS,
    };
    worker.postMessage(start);
    return () => worker.terminate();
  }, [filter.user, filter.action]);

  const togglePause = () => {
    pausedRef.current = !paused;
    receivedAtPause.current = received;
    setPaused(!paused);
    if (paused) {
      setWaiting(0);
      setShown(latest.current);
    }
  };

  return (
    <div class="with-detail">
      <section class="main-column" aria-labelledby="live-title">
        <h1 id="live-title">Live events</h1>
        <form class="filters" onSubmit={(e) => e.preventDefault()} role="search" aria-label="Filter live events">
          <Field id="live-user" label="User" value={user} onInput={setUser} placeholder="any user" />
          <Field id="live-action" label="Action" value={action} onInput={setAction} placeholder="any action" />
          <ButtonField>
            <button type="button" onClick={togglePause} aria-pressed={paused}>
              {paused ? 'Resume' : 'Pause'}
            </button>
          </ButtonField>
        </form>
        <p class="muted" role="status" aria-live="polite" aria-atomic="true">
          <span data-testid="live-status">{status}</span> · <span data-testid="live-received">{received}</span> received
          {paused && <span> · paused, {waiting} new since</span>}
        </p>
        {refused && <Problem status={refused.includes('401') ? 401 : 0}>{refused}</Problem>}
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <Table label={`The newest ${SHOWN} live events`} class="events fixed" scrollClass="live-list" scrollLabel="Live events, scrollable" columns={['Received', 'User', 'Action', 'Record']}>
          {shown.map((event, i) => (
            // Keyed by place: a row's cells are updated in place, not rebuilt, as events stream by.
            <tr key={i} data-event-id={event.event_id} class={selected?.event_id === event.event_id ? 'selected' : ''}>
              <td>{clock(event.received_at)}</td>
              <EventCells event={event} onShow={setSelected} />
            </tr>
          ))}
        </Table>
        {shown.length === 0 && !refused && <p class="muted">No event yet: events appear here as soon as the API accepts them.</p>}
      </section>
      {selected && <EventDetail event={selected} onClose={() => setSelected(undefined)} />}
    </div>
  );
}
