/**
 * A user: event counts per hour (GET /stats/users/:id, charted, open windows
 * provisional), sessions (/stats/users/:id/sessions), the timeline of their
 * events (/activities?user_id=), and, where the API has identity
 * (GET /users/:id), their traits and linked ids; a 404 there hides them.
 */
import { useState } from 'preact/hooks';
import { DAY, HOUR, getJson, getOptional, iso, type StoredEvent } from './api.js';
import { TimeChart } from './chart.js';
import { Loading, Problem, Select, Table, time, useLoad } from './common.js';

interface Series {
  watermark: string | null;
  final: boolean;
  series: Array<{ start: string; events: number; final: boolean }>;
}

interface Sessions {
  sessions: Array<{ start: string; end: string; events: number; duration_ms: number; final: boolean }>;
}

/** GET /users/:id (identity, the segment issue): the latest traits and the ids linked to the user. */
interface Identity {
  traits: Record<string, unknown>;
  linked_ids: Array<{ id: string; linked_at?: string }>;
  first_seen?: string | null;
  last_seen?: string | null;
}

type Range = '1' | '7';

function IdentityFacts({ identity }: { identity: Identity }) {
  const traits = Object.entries(identity.traits ?? {});
  const linked = identity.linked_ids ?? [];
  return (
    <section aria-labelledby="identity-title" data-testid="identity">
      <h2 id="identity-title">Identity</h2>
      {traits.length > 0 ? (
        <dl class="facts" aria-label="Traits">
          {traits.flatMap(([name, value]) => [
            <dt key={`t-${name}`}>{name}</dt>,
            <dd key={`v-${name}`}>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>,
          ])}
        </dl>
      ) : (
        <p class="muted">No traits.</p>
      )}
      <p>
        <strong>Linked ids:</strong>{' '}
        <span data-testid="linked-ids">
          {linked.length === 0 ? 'none' : linked.map((l) => `${l.id}${l.linked_at ? ` (since ${time(l.linked_at)})` : ''}`).join(', ')}
        </span>
      </p>
      {(identity.first_seen || identity.last_seen) && (
        <p class="muted">
          First seen {identity.first_seen ? time(identity.first_seen) : '—'}, last seen {identity.last_seen ? time(identity.last_seen) : '—'}.
        </p>
      )}
    </section>
  );
}

export function UserPage({ userId }: { userId: string }) {
  const [range, setRange] = useState<Range>('1');
  // The range is fixed when the page opens (or the range changes), so every figure covers the same one.
  const [at] = useState(() => Math.ceil(Date.now() / HOUR) * HOUR);
  const from = iso(at - Number(range) * DAY);
  const to = iso(at);
  const path = encodeURIComponent(userId);
  const series = useLoad((signal) => getJson<Series>(`/stats/users/${path}`, { from, to, granularity: '1h' }, { signal }), [userId, range]);
  const sessions = useLoad((signal) => getJson<Sessions>(`/stats/users/${path}/sessions`, { from, to }, { signal }), [userId, range]);
  const identity = useLoad((signal) => getOptional<Identity>(`/users/${path}`, {}, signal).catch(() => null), [userId]);
  const [cursors, setCursors] = useState<string[]>([]);
  const timeline = useLoad(
    (signal) => getJson<{ events: StoredEvent[]; next_cursor: string | null }>('/activities', { user_id: userId, limit: 25, cursor: cursors.at(-1) }, { signal }),
    [userId, cursors],
  );
  const total = series.state === 'ok' ? series.value.series.reduce((n, p) => n + p.events, 0) : undefined;

  return (
    <section aria-labelledby="user-title" data-from={from} data-to={to}>
      <h1 id="user-title">
        User <span class="mono">{userId}</span>
      </h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Range">
        <Select id="user-range" label="Range" value={range} onChange={setRange} options={[['1', 'Last 24 hours'], ['7', 'Last 7 days']]} />
      </form>
      <div class="cards">
        <div class="card">
          <span class="card-label">Events</span>
          <span class="card-value" data-testid="user-events-total">
            {total ?? '…'}
          </span>
        </div>
        <div class="card">
          <span class="card-label">Sessions</span>
          <span class="card-value" data-testid="user-sessions-total">
            {sessions.state === 'ok' ? sessions.value.sessions.length : '…'}
          </span>
        </div>
        <div class="card">
          <span class="card-label">Counts final up to</span>
          <span class="card-value small">{series.state === 'ok' && series.value.watermark ? time(series.value.watermark) : '…'}</span>
        </div>
      </div>
      {identity.state === 'ok' && identity.value && <IdentityFacts identity={identity.value} />}
      <h2>Activity</h2>
      {series.state === 'loading' && <Loading what="activity" />}
      {series.state === 'failed' && <Problem status={series.status}>{series.error}</Problem>}
      {series.state === 'ok' && (
        <TimeChart
          title="Events per hour"
          series={[{ label: 'events', points: series.value.series.map((p) => ({ t: Date.parse(p.start), value: p.events, final: p.final })) }]}
          watermark={series.value.watermark ? Date.parse(series.value.watermark) : null}
          range={[Date.parse(from), Date.parse(to)]}
        />
      )}
      <h2>Sessions</h2>
      {sessions.state === 'loading' && <Loading what="sessions" />}
      {sessions.state === 'failed' && <Problem status={sessions.status}>{sessions.error}</Problem>}
      {sessions.state === 'ok' && (
        <Table label="Sessions" columns={['Start (UTC)', 'End', 'Events', 'Duration', 'State']}>
          {sessions.value.sessions.map((s) => (
            <tr key={s.start}>
              <td>{time(s.start)}</td>
              <td>{time(s.end)}</td>
              <td>{s.events}</td>
              <td>{Math.round(s.duration_ms / 1000)} s</td>
              <td>{s.final ? 'final' : 'open (provisional)'}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Timeline</h2>
      {timeline.state === 'loading' && <Loading what="the timeline" />}
      {timeline.state === 'failed' && <Problem status={timeline.status}>{timeline.error}</Problem>}
      {timeline.state === 'ok' && (
        <>
          <ol class="timeline">
            {timeline.value.events.map((e) => (
              <li key={e.event_id}>
                <time dateTime={e.timestamp}>{time(e.timestamp)}</time> <strong>{e.action}</strong>
                {Object.keys(e.properties).length > 0 && <span class="muted mono"> {JSON.stringify(e.properties)}</span>}
              </li>
            ))}
          </ol>
          <nav class="pager" aria-label="Timeline pages">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors([])}>
              Newest
            </button>
            <button type="button" disabled={!timeline.value.next_cursor} onClick={() => setCursors([...cursors, timeline.value.next_cursor!])}>
              Older
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
