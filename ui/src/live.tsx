/**
 * Live: events as the API accepts them (GET /live/events), newest first,
 * filtered by user and action on the server as you type, pausable; select
 * one to read its full record. At thousands of events a second the page
 * stays responsive: events are kept in a bounded buffer outside the view,
 * and the list (the newest SHOWN) is redrawn at most every RENDER_MS.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { StoredEvent } from './api.js';
import { followLive } from './live-stream.js';
import { EventDetail, Field, Problem, clock } from './common.js';

const KEEP = 1_000;
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
  const buffer = useRef<StoredEvent[]>([]);
  const count = useRef(0);
  const pausedRef = useRef(false);
  const timer = useRef<number | undefined>(undefined);

  useEffect(() => {
    const t = setTimeout(() => setFilter({ user: user.trim(), action: action.trim() }), FILTER_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [user, action]);

  useEffect(() => {
    buffer.current = [];
    count.current = 0;
    setShown([]);
    setReceived(0);
    setWaiting(0);
    setRefused(undefined);
    setNotice(undefined);
    const render = () => {
      timer.current = undefined;
      setReceived(count.current);
      if (!pausedRef.current) setShown(buffer.current.slice(-SHOWN).reverse());
    };
    const stop = followLive(
      { user_id: filter.user || undefined, action: filter.action || undefined },
      {
        events(events) {
          count.current += events.length;
          const kept = buffer.current;
          kept.push(...events);
          if (kept.length > KEEP) kept.splice(0, kept.length - KEEP);
          if (pausedRef.current) setWaiting((n) => n + events.length);
          timer.current ??= window.setTimeout(render, RENDER_MS);
        },
        notice: setNotice,
        status: (state, detail) => setStatus(detail ? `${state}: ${detail}` : state),
        refused: setRefused,
      },
    );
    return () => {
      stop();
      clearTimeout(timer.current);
      timer.current = undefined;
    };
  }, [filter.user, filter.action]);

  const togglePause = () => {
    pausedRef.current = !paused;
    setPaused(!paused);
    if (paused) {
      setWaiting(0);
      setShown(buffer.current.slice(-SHOWN).reverse());
    }
  };

  return (
    <div class="with-detail">
      <section class="main-column" aria-labelledby="live-title">
        <h1 id="live-title">Live events</h1>
        <form class="filters" onSubmit={(e) => e.preventDefault()} role="search" aria-label="Filter live events">
          <Field id="live-user" label="User" value={user} onInput={setUser} placeholder="any user" />
          <Field id="live-action" label="Action" value={action} onInput={setAction} placeholder="any action" />
          <div class="field">
            <span class="label-spacer" aria-hidden="true">
              &nbsp;
            </span>
            <button type="button" onClick={togglePause} aria-pressed={paused}>
              {paused ? 'Resume' : 'Pause'}
            </button>
          </div>
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
        <div class="table-scroll live-list">
          <table class="events fixed" aria-label={`The newest ${SHOWN} live events`}>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">User</th>
                <th scope="col">Action</th>
                <th scope="col">Record</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((event) => (
                <tr key={event.event_id} data-event-id={event.event_id} class={selected?.event_id === event.event_id ? 'selected' : ''}>
                  <td>{clock(event.received_at)}</td>
                  <td>
                    <a href={`#/users/${encodeURIComponent(event.user_id)}`}>{event.user_id}</a>
                  </td>
                  <td>{event.action}</td>
                  <td>
                    <button type="button" class="link" onClick={() => setSelected(event)}>
                      Show<span class="visually-hidden"> the record of {event.action} by {event.user_id}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {shown.length === 0 && !refused && <p class="muted">No event yet: events appear here as soon as the API accepts them.</p>}
      </section>
      {selected && <EventDetail event={selected} onClose={() => setSelected(undefined)} />}
    </div>
  );
}
