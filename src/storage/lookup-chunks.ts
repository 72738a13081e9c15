/**
 * Splitting a lookup's keys over several queries. Query parameters travel in
 * the URL, which ClickHouse caps (`http_max_uri_size`, 1 MiB by default), and
 * a worker's round can name tens of thousands of keys.
 */

/**
 * URL bytes per query for its keys (costs count their percent-encoding):
 * three quarters of ClickHouse's default cap, the rest left for the query's
 * settings and other parameters. Every query more costs a round trip, so
 * the chunks are as large as the cap allows.
 */
export const LOOKUP_URL_BUDGET = 768 * 1024;

/** The URL bytes a text costs as an array element: percent-encoded, with its quotes and comma. */
export function urlCost(text: string): number {
  return encodeURIComponent(text).length + 9;
}

/** Consecutive chunks whose costs each sum to at most `budget` (an item over it goes alone). */
export function chunkByCost<T>(items: T[], cost: (item: T) => number, budget = LOOKUP_URL_BUDGET): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let spent = 0;
  for (const item of items) {
    const c = cost(item);
    if (chunk.length > 0 && spent + c > budget) {
      chunks.push(chunk);
      chunk = [];
      spent = 0;
    }
    chunk.push(item);
    spent += c;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
