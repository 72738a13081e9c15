/**
 * One block of a text/event-stream (the lines between two blank lines) read
 * as an event. Dependency-free: the UI's live stream and the tests' SSE
 * client (testing/sse-client.ts) both read /live/events with it.
 */
export interface SseEvent {
  type: string;
  id: string | undefined;
  data: string;
}

/** The block's event; undefined when it sets no field (a comment such as a keep-alive). */
export function parseSseBlock(block: string): SseEvent | undefined {
  const parsed: SseEvent = { type: 'message', id: undefined, data: '' };
  let any = false;
  for (const line of block.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') parsed.type = value;
    else if (field === 'id') parsed.id = value;
    else if (field === 'data') parsed.data += value;
    else continue;
    any = true;
  }
  return any ? parsed : undefined;
}
