/**
 * Splitting a lookup's keys over several queries. Query parameters travel in
 * the URL, which ClickHouse caps (`http_max_uri_size`, 1 MiB by default), and
 * a worker's round can name tens of thousands of keys.
 */

/** URL bytes per query for its keys: a quarter of ClickHouse's default cap leaves room for escaping. */
export const LOOKUP_URL_BUDGET = 256 * 1024;

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
