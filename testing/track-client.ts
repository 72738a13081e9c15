/** Reading `POST /track` answers in tests and benchmarks. */
import type { TrackResponse } from '../src/api/ingest.js';

/** The event ids a /track answer accepted, in request order. */
export async function acceptedIds(response: Response): Promise<string[]> {
  const body = (await response.json()) as TrackResponse;
  return body.results.flatMap((r) => (r.status === 'accepted' ? [r.event_id] : []));
}
