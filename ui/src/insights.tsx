/**
 * Insights: trends (with a breakdown), funnels and retention from the
 * /insights routes (their shapes: /work/notes/insights-contract.md, the
 * queries issue). Trends are charted with open windows provisional and the
 * watermark drawn; a funnel as bars of users per step; retention as a
 * cohort table shaded by the share that returned. An answer that is not
 * final says so.
 */
import { useState } from 'preact/hooks';
import { DAY, HOUR, getJson, iso } from './api.js';
import { TimeChart } from './chart.js';
import { ButtonField, Field, Loading, Problem, Select, time, useLoad, type Loaded } from './common.js';

interface Meta {
  watermark: string | null;
  final: boolean;
  late_events_dropped: number;
}

export interface TrendsAnswer extends Meta {
  granularity: string;
  measure: string;
  series: Array<{ key: string | null; points: Array<{ t: string; value: number; final: boolean }> }>;
  uniques_error?: string;
}

export interface FunnelStep {
  action: string;
  users: number;
  conversion_from_first: number;
  conversion_from_previous: number;
  median_seconds_to_convert: number | null;
}

export interface FunnelAnswer extends Meta {
  steps: FunnelStep[];
  breakdown?: Array<{ key: string; steps: FunnelStep[] }>;
}

export interface RetentionAnswer extends Meta {
  period: string;
  cohorts: Array<{ start: string; users: number; returned: number[]; percent: number[] }>;
}

type Tab = 'trends' | 'funnels' | 'retention';

const MISSING = 'This API has no /insights routes yet (they come with the richer-queries issue).';

function failure<T>(loaded: Loaded<T>) {
  if (loaded.state !== 'failed') return null;
  return <Problem status={loaded.status}>{loaded.status === 404 ? MISSING : loaded.error}</Problem>;
}

function Finality({ meta }: { meta: Meta }) {
  return (
    <p class="muted">
      {meta.final ? 'Final: every window in the range is closed.' : 'Provisional: some windows are still open and may change.'}
      {meta.watermark && <> Watermark {time(meta.watermark)}.</>}
      {meta.late_events_dropped > 0 && <> {meta.late_events_dropped} late events were not counted.</>}
    </p>
  );
}

function Trends({ at }: { at: number }) {
  const [action, setAction] = useState('');
  const [measure, setMeasure] = useState<'count' | 'uniques'>('count');
  const [breakdown, setBreakdown] = useState<'none' | 'action'>('none');
  const [granularity, setGranularity] = useState<'1h' | '1d'>('1h');
  const [query, setQuery] = useState({ action: '', measure: 'count', breakdown: 'none', granularity: '1h' });
  const days = query.granularity === '1h' ? 1 : 30;
  const answer = useLoad(
    (signal) =>
      getJson<TrendsAnswer>(
        '/insights/trends',
        {
          from: iso(at - days * DAY),
          to: iso(at),
          granularity: query.granularity,
          measure: query.measure,
          action: query.action ? query.action.split(',').map((a) => a.trim()).filter(Boolean) : undefined,
          breakdown: query.breakdown === 'none' ? undefined : query.breakdown,
        },
        { signal },
      ),
    [query, at],
  );
  return (
    <section aria-labelledby="trends-title">
      <h2 id="trends-title">Trends</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ action: action.trim(), measure, breakdown, granularity });
        }}
      >
        <Field id="trends-action" label="Actions (comma-separated)" value={action} onInput={setAction} placeholder="all actions" />
        <Select id="trends-measure" label="Measure" value={measure} onChange={setMeasure} options={[['count', 'Events'], ['uniques', 'Unique users']]} />
        <Select id="trends-breakdown" label="Breakdown" value={breakdown} onChange={setBreakdown} options={[['none', 'None'], ['action', 'By action']]} />
        <Select id="trends-granularity" label="Buckets" value={granularity} onChange={setGranularity} options={[['1h', 'Hourly, last 24 hours'], ['1d', 'Daily, last 30 days']]} />
        <ButtonField>
          <button type="submit">Show</button>
        </ButtonField>
      </form>
      {answer.state === 'loading' && <Loading what="the trend" />}
      {failure(answer)}
      {answer.state === 'ok' && (
        <>
          <Finality meta={answer.value} />
          <TimeChart
            title={query.measure === 'uniques' ? 'Unique users' : 'Events'}
            series={answer.value.series.map((s) => ({
              label: s.key ?? 'all events',
              points: s.points.map((p) => ({ t: Date.parse(p.t), value: p.value, final: p.final })),
            }))}
            watermark={answer.value.watermark ? Date.parse(answer.value.watermark) : null}
            range={[at - days * DAY, at]}
          />
        </>
      )}
    </section>
  );
}

export function FunnelChart({ steps, label }: { steps: FunnelStep[]; label: string }) {
  const first = steps[0]?.users ?? 0;
  return (
    <figure class="funnel" data-testid="funnel">
      <figcaption>{label}</figcaption>
      <ol>
        {steps.map((step, i) => (
          <li key={`${i}-${step.action}`} data-testid="funnel-step" data-users={step.users}>
            <span class="funnel-label">
              {i + 1}. {step.action}
            </span>
            <span class="funnel-bar" aria-hidden="true">
              <span style={{ width: `${first === 0 ? 0 : Math.max(1, (step.users / first) * 100)}%` }} />
            </span>
            <span class="funnel-figures">
              <strong>{step.users}</strong> users · {Math.round(step.conversion_from_first * 1000) / 10}% of the first step
              {i > 0 && <> · {Math.round(step.conversion_from_previous * 1000) / 10}% of the previous</>}
              {step.median_seconds_to_convert !== null && i > 0 && <> · median {Math.round(step.median_seconds_to_convert)} s</>}
            </span>
          </li>
        ))}
      </ol>
    </figure>
  );
}

function Funnels({ at }: { at: number }) {
  const [steps, setSteps] = useState('');
  const [window, setWindow] = useState('86400');
  const [query, setQuery] = useState<{ steps: string[]; window: string } | undefined>();
  const answer = useLoad(
    async (signal) => (query ? getJson<FunnelAnswer>('/insights/funnels', { from: iso(at - 7 * DAY), to: iso(at), step: query.steps, window: query.window }, { signal }) : null),
    [query, at],
  );
  return (
    <section aria-labelledby="funnels-title">
      <h2 id="funnels-title">Funnels</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ steps: steps.split(',').map((s) => s.trim()).filter(Boolean), window });
        }}
      >
        <Field id="funnel-steps" label="Steps, in order (comma-separated actions)" value={steps} onInput={setSteps} placeholder="signup, activate, purchase" />
        <Field id="funnel-window" label="Window (seconds)" value={window} onInput={setWindow} type="number" />
        <ButtonField>
          <button type="submit">Show</button>
        </ButtonField>
      </form>
      <p class="muted">Over the last 7 days.</p>
      {answer.state === 'loading' && query && <Loading what="the funnel" />}
      {failure(answer)}
      {answer.state === 'ok' && answer.value && (
        <>
          <Finality meta={answer.value} />
          <FunnelChart steps={answer.value.steps} label="Users reaching each step" />
          {answer.value.breakdown?.map((b) => <FunnelChart key={b.key} steps={b.steps} label={`Breakdown: ${b.key}`} />)}
        </>
      )}
    </section>
  );
}

function Retention({ at }: { at: number }) {
  const [first, setFirst] = useState('');
  const [ret, setRet] = useState('');
  const [period, setPeriod] = useState<'day' | 'week'>('day');
  const [query, setQuery] = useState<{ first: string; ret: string; period: string } | undefined>();
  const answer = useLoad(
    async (signal) =>
      query
        ? getJson<RetentionAnswer>('/insights/retention', { from: iso(at - (query.period === 'day' ? 14 : 56) * DAY), to: iso(at), first: query.first, return: query.ret, period: query.period }, { signal })
        : null,
    [query, at],
  );
  const periods = answer.state === 'ok' && answer.value ? Math.max(0, ...answer.value.cohorts.map((c) => c.percent.length)) : 0;
  return (
    <section aria-labelledby="retention-title">
      <h2 id="retention-title">Retention</h2>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery({ first: first.trim(), ret: ret.trim(), period });
        }}
      >
        <Field id="retention-first" label="First action" value={first} onInput={setFirst} placeholder="signup" />
        <Field id="retention-return" label="Return action" value={ret} onInput={setRet} placeholder="app_opened" />
        <Select id="retention-period" label="Period" value={period} onChange={setPeriod} options={[['day', 'Daily, 14 days'], ['week', 'Weekly, 8 weeks']]} />
        <ButtonField>
          <button type="submit">Show</button>
        </ButtonField>
      </form>
      {failure(answer)}
      {answer.state === 'ok' && answer.value && (
        <>
          <Finality meta={answer.value} />
          <div class="table-scroll" tabIndex={0} role="region" aria-label="Table, scrollable">
            <table class="retention" aria-label="Share of each cohort that returned, per period">
              <thead>
                <tr>
                  <th scope="col">Cohort</th>
                  <th scope="col">Users</th>
                  {Array.from({ length: periods }, (_, i) => (
                    <th scope="col" key={i}>
                      {period === 'day' ? 'Day' : 'Week'} {i}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {answer.value.cohorts.map((c) => (
                  <tr key={c.start}>
                    <th scope="row">{c.start.slice(0, 10)}</th>
                    <td>{c.users}</td>
                    {c.percent.map((p, i) => (
                      <td key={i} class="heat" style={{ background: `rgba(31, 95, 191, ${Math.min(0.55, p / 180)})` }}>
                        {Math.round(p)}% <span class="visually-hidden">({c.returned[i]} users)</span>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

export function InsightsPage() {
  const [tab, setTab] = useState<Tab>('trends');
  const [at] = useState(() => Math.ceil(Date.now() / HOUR) * HOUR);
  return (
    <section aria-labelledby="insights-title">
      <h1 id="insights-title">Insights</h1>
      <div class="tabs" role="group" aria-label="Insight">
        {(['trends', 'funnels', 'retention'] as const).map((t) => (
          <button key={t} type="button" aria-pressed={tab === t} onClick={() => setTab(t)}>
            {t[0]!.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      {tab === 'trends' && <Trends at={at} />}
      {tab === 'funnels' && <Funnels at={at} />}
      {tab === 'retention' && <Retention at={at} />}
    </section>
  );
}

