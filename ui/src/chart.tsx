/**
 * A time chart on uPlot (small, and fast on thousands of points). Points of
 * windows still open are drawn dashed and lighter (provisional: they may
 * still change), closed ones solid, and the watermark as a vertical line:
 * left of it every window is final. The figures are also in a table under
 * the chart, for screen readers and for anyone who wants the numbers.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartPoint {
  /** Epoch ms. */
  t: number;
  value: number;
  final: boolean;
}

export interface ChartSeries {
  label: string;
  points: ChartPoint[];
}

const COLORS = ['#1f5fbf', '#b3261e', '#1e7b34', '#7a4bb3', '#a15c00', '#006d77', '#5c5c5c', '#c2185b', '#33691e', '#4527a0', '#795548'];

/** One uPlot series pair per series: closed windows, then open ones joined to the last closed point. */
function chartData(series: ChartSeries[]): { data: uPlot.AlignedData; times: number[] } {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns: Array<Array<number | null>> = [];
  for (const s of series) {
    const closed: Array<number | null> = times.map(() => null);
    const open: Array<number | null> = times.map(() => null);
    const sorted = [...s.points].sort((a, b) => a.t - b.t);
    sorted.forEach((p, i) => {
      const at = index.get(p.t)!;
      if (p.final) closed[at] = p.value;
      else {
        open[at] = p.value;
        const previous = sorted[i - 1];
        if (previous?.final) open[index.get(previous.t)!] = previous.value;
      }
    });
    columns.push(closed, open);
  }
  return { data: [times.map((t) => t / 1000), ...columns] as uPlot.AlignedData, times };
}

function watermarkPlugin(watermark: number | null): uPlot.Plugin {
  return {
    hooks: {
      draw: (u) => {
        if (watermark === null) return;
        const x = u.valToPos(watermark / 1000, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        const ctx = u.ctx;
        ctx.save();
        ctx.strokeStyle = '#444';
        ctx.setLineDash([2, 3]);
        ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = '#222';
        ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
        ctx.fillText('watermark', x + 4 * devicePixelRatio, u.bbox.top + 12 * devicePixelRatio);
        ctx.restore();
      },
    },
  };
}

const fmtTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

export function TimeChart({
  title,
  series,
  watermark = null,
  height = 220,
  range,
}: {
  title: string;
  series: ChartSeries[];
  watermark?: number | null;
  height?: number;
  /** The time range asked for (epoch ms), so a few points sit where they belong in it. */
  range?: [number, number];
}) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const { data } = chartData(series);
    const uSeries: uPlot.Series[] = [{}];
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length]!;
      uSeries.push({ label: s.label, stroke: color, width: 2, points: { show: true, size: 5 } });
      uSeries.push({ label: `${s.label} (provisional)`, stroke: `${color}99`, width: 2, dash: [6, 4], points: { show: true, size: 5, fill: '#fff' } });
    });
    const plot = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height,
        series: uSeries,
        legend: { show: false },
        cursor: { show: true },
        scales: {
          x: range ? { time: true, range: [range[0] / 1000, range[1] / 1000] } : { time: true },
          y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        },
        axes: [{ stroke: '#333' }, { stroke: '#333' }],
        plugins: [watermarkPlugin(watermark)],
      },
      data,
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, watermark, height, range?.[0], range?.[1]]);

  const rows = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  return (
    <figure class="chart">
      <figcaption>
        {title}
        <span class="legend">
          {series.map((s, i) => (
            <span key={s.label} class="legend-item">
              <span class="swatch" style={{ background: COLORS[i % COLORS.length] }} aria-hidden="true" />
              {s.label}
            </span>
          ))}
          <span class="legend-item">
            <span class="swatch dashed" aria-hidden="true" /> provisional (window still open)
          </span>
        </span>
      </figcaption>
      <div ref={holder} class="plot" role="img" aria-label={`${title}: chart; the figures are in the table below`} />
      <details>
        <summary>Figures</summary>
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Table, scrollable">
          <table>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                {series.map((s) => (
                  <th scope="col" key={s.label}>
                    {s.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t}>
                  <td>{fmtTime(t)}</td>
                  {series.map((s) => {
                    const p = s.points.find((x) => x.t === t);
                    return <td key={s.label}>{p ? `${p.value}${p.final ? '' : ' (provisional)'}` : ''}</td>;
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
