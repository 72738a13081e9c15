/** Reading a StreamTrack process's /metrics (Prometheus text) in tests. */

/** Sum of the samples of one series whose labels include `labels`; 0 when none is exported yet. */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of exposition.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const found = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) sum += Number(sample[3]);
  }
  return sum;
}

/** One series' value from the process serving /metrics at `base` (e.g. a worker's http://127.0.0.1:WORKER_HTTP_PORT). */
export async function scrapeMetric(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const response = await fetch(`${base}/metrics`);
  if (!response.ok) throw new Error(`${base}/metrics answered ${response.status}`);
  return metricValue(await response.text(), name, labels);
}
