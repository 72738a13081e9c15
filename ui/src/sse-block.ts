/**
 * A text/event-stream read as blocks (the lines between two blank lines) and
 * each block as an event. Dependency-free: the UI's live stream and the tests'
 * SSE client (testing/sse-client.ts) both read /live/events with it.
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

/** The stream's complete blocks, a chunk's worth at a time: one split per chunk, as a chunk may hold thousands of events. */
// The bytes TextDecoderStream takes (BufferSource), spelled out: the server's tsconfig, which checks this file for testing/, has no DOM lib.
export async function* sseBlocks(body: ReadableStream<ArrayBufferView | ArrayBuffer>): AsyncGenerator<string[]> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const blocks = buffer.split('\n\n');
    buffer = blocks.pop() ?? '';
    yield blocks;
  }
}
