/**
 * Explore: GET /activities with its filters, a page at a time (keyset: the
 * answer's next_cursor, never an offset), and an event's full record.
 */
import { useState } from 'preact/hooks';
import { DAY, getJson, iso, type StoredEvent } from './api.js';
import { ButtonField, EventCells, EventDetail, Field, Loading, Problem, Select, Table, time, useLoad } from './common.js';

interface Page {
  events: StoredEvent[];
  next_cursor: string | null;
}

type Range = '1' | '7' | '31';

export function ExplorePage() {
  const [user, setUser] = useState('');
  const [action, setAction] = useState('');
  const [range, setRange] = useState<Range>('7');
  const [query, setQuery] = useState({ user: '', action: '', range: '7' as Range, at: Date.now() });
  const [cursors, setCursors] = useState<string[]>([]);
  const [selected, setSelected] = useState<StoredEvent | undefined>();
  const cursor = cursors.at(-1);
  const page = useLoad(
    (signal) =>
      getJson<Page>(
        '/activities',
        {
          user_id: query.user || undefined,
          action: query.action || undefined,
          from: iso(query.at - Number(query.range) * DAY),
          to: iso(query.at + 60_000),
          limit: 50,
          cursor,
        },
        { signal },
      ),
    [query, cursor],
  );

  const search = (e: Event) => {
    e.preventDefault();
    setCursors([]);
    setQuery({ user: user.trim(), action: action.trim(), range, at: Date.now() });
  };

  return (
    <div class="with-detail">
      <section class="main-column" aria-labelledby="explore-title">
        <h1 id="explore-title">Explore events</h1>
        <form class="filters" onSubmit={search} role="search" aria-label="Filter events">
          <Field id="explore-user" label="User" value={user} onInput={setUser} placeholder="any user" />
          <Field id="explore-action" label="Action" value={action} onInput={setAction} placeholder="any action" />
          <Select id="explore-range" label="Event time" value={range} onChange={setRange} options={[['1', 'Last 24 hours'], ['7', 'Last 7 days'], ['31', 'Last 31 days']]} />
          <ButtonField>
            <button type="submit">Search</button>
          </ButtonField>
        </form>
        {page.state === 'loading' && <Loading what="events" />}
        {page.state === 'failed' && <Problem status={page.status}>{page.error}</Problem>}
        {page.state === 'ok' && (
          <>
            <Table label={`Events, page ${cursors.length + 1}`} class="events" columns={['Event time (UTC)', 'User', 'Action', 'Record']}>
              {page.value.events.map((event) => (
                <tr key={event.event_id} data-event-id={event.event_id}>
                  <td>{time(event.timestamp)}</td>
                  <EventCells event={event} onShow={setSelected} />
                </tr>
              ))}
            </Table>
            {page.value.events.length === 0 && <p class="muted">No event matches.</p>}
            <nav class="pager" aria-label="Pages">
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
                Newest
              </button>
              <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </button>
              <button type="button" disabled={!page.value.next_cursor} onClick={() => setCursors([...cursors, page.value.next_cursor!])}>
                Next page
              </button>
            </nav>
          </>
        )}
      </section>
      {selected && <EventDetail event={selected} onClose={() => setSelected(undefined)} />}
    </div>
  );
}
