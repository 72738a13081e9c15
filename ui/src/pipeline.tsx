/**
 * Pipeline: GET /pipeline every POLL_MS: events per second into the topic
 * (charted over the time this page has been open), the workers' lag per
 * partition, dead letters, each topology's watermark and late events, and
 * the event schema's versions in the registry.
 */
import { useEffect, useState } from 'preact/hooks';
import { getJson } from './api.js';
import { TimeChart, type ChartPoint } from './chart.js';
import { Loading, Problem, Table, time, type Loaded } from './common.js';
import { ApiFailure } from './api.js';

const POLL_MS = 2_000;
const HISTORY = 150;

interface Pipeline {
  at: string;
  events_topic: { name: string; partitions: Array<{ partition: number; end: number; start: number }>; events_per_second: number | null } | null;
  consumer_group: { name: string; total_lag: number; partitions: Array<{ partition: number; committed: number | null; lag: number }> } | null;
  dead_letters: { topic: string; total: number; kept: number } | null;
  topologies: Array<{ topology: string; watermark: string; open_windows: number; late_events: number; partitions: Array<{ partition: number; watermark: string }> }> | null;
  schemas: { subject: string; versions: Array<{ version: number; id: number }> } | null;
  unavailable: string[];
}

function behind(iso: string, now: string): string {
  const seconds = Math.round((Date.parse(now) - Date.parse(iso)) / 1000);
  return seconds < 120 ? `${seconds} s behind` : `${Math.round(seconds / 60)} min behind`;
}

export function PipelinePage() {
  const [loaded, setLoaded] = useState<Loaded<Pipeline>>({ state: 'loading' });
  const [rates, setRates] = useState<ChartPoint[]>([]);
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const value = await getJson<Pipeline>('/pipeline');
        if (stopped) return;
        setLoaded({ state: 'ok', value });
        const rate = value.events_topic?.events_per_second;
        if (rate !== null && rate !== undefined) setRates((r) => [...r.slice(-HISTORY + 1), { t: Date.parse(value.at), value: Math.round(rate * 10) / 10, final: true }]);
      } catch (error) {
        if (stopped) return;
        setLoaded({ state: 'failed', error: (error as Error).message, status: error instanceof ApiFailure ? error.status : 0 });
      }
      timer = window.setTimeout(poll, POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);

  if (loaded.state === 'loading') return <Loading what="the pipeline" />;
  if (loaded.state === 'failed') return <Problem status={loaded.status}>{loaded.error}</Problem>;
  const p = loaded.value;
  return (
    <section aria-labelledby="pipeline-title">
      <h1 id="pipeline-title">Pipeline</h1>
      <p class="muted">The whole installation's figures, read {time(p.at)} UTC; refreshed every {POLL_MS / 1000} s.</p>
      {p.unavailable.length > 0 && (
        <div class="problem" role="status">
          <p>Not readable now:</p>
          <ul>
            {p.unavailable.map((u) => (
              <li key={u}>{u}</li>
            ))}
          </ul>
        </div>
      )}
      <div class="cards">
        <div class="card">
          <span class="card-label">Events per second in</span>
          <span class="card-value" data-testid="events-per-second">
            {p.events_topic?.events_per_second === null || p.events_topic === null ? 'measuring…' : p.events_topic.events_per_second.toFixed(1)}
          </span>
        </div>
        <div class="card">
          <span class="card-label">Consumer lag</span>
          <span class="card-value">{p.consumer_group?.total_lag ?? '—'}</span>
        </div>
        <div class="card">
          <span class="card-label">Dead letters</span>
          <span class="card-value">{p.dead_letters?.total ?? '—'}</span>
        </div>
        <div class="card">
          <span class="card-label">Late events</span>
          <span class="card-value">{p.topologies ? p.topologies.reduce((n, t) => n + t.late_events, 0) : '—'}</span>
        </div>
      </div>
      {rates.length > 1 && <TimeChart title="Events per second into the topic" series={[{ label: 'events/s', points: rates }]} height={160} />}
      <h2>Consumer lag per partition</h2>
      {p.consumer_group && (
        <Table label={`Lag of consumer group ${p.consumer_group.name}`} columns={['Partition', 'End offset', 'Committed', 'Lag']}>
          {p.consumer_group.partitions.map((c) => (
            <tr key={c.partition}>
              <td>{c.partition}</td>
              <td>{p.events_topic?.partitions.find((e) => e.partition === c.partition)?.end ?? ''}</td>
              <td>{c.committed ?? 'none'}</td>
              <td>{c.lag}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Topologies</h2>
      {p.topologies && p.topologies.length === 0 && <p class="muted">No topology has reported yet.</p>}
      {p.topologies && p.topologies.length > 0 && (
        <Table label="Watermark of each topology" columns={['Topology', 'Watermark (UTC)', 'Open windows', 'Late events']}>
          {p.topologies.map((t) => (
            <tr key={t.topology}>
              <td>{t.topology}</td>
              <td>
                {time(t.watermark)} ({behind(t.watermark, p.at)})
              </td>
              <td>{t.open_windows}</td>
              <td>{t.late_events}</td>
            </tr>
          ))}
        </Table>
      )}
      <h2>Schemas</h2>
      {p.schemas && (
        <p>
          Subject <span class="mono">{p.schemas.subject}</span>: {p.schemas.versions.map((v) => `v${v.version} (id ${v.id})`).join(', ') || 'no version'}
        </p>
      )}
      {p.dead_letters && (
        <p>
          Dead-letter topic <span class="mono">{p.dead_letters.topic}</span>: {p.dead_letters.total} ever, {p.dead_letters.kept} kept.
        </p>
      )}
    </section>
  );
}
