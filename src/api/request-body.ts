/**
 * A request's body as bytes, at most `maxBytes`: 413 `payload_too_large`
 * beyond, whether Content-Length says so up front or a chunked body runs over.
 *
 * On the Node server it reads the IncomingMessage itself (node-bindings.ts).
 * Through the Fetch API, @hono/node-server would build an undici Request, a
 * ReadableStream and an AbortSignal for every request: under /track load that
 * was about a fifth of the API's CPU (bench:track, CPU profile). In process
 * (`app.request` in tests) there is no IncomingMessage and the Fetch body is read.
 */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { ApiError } from './errors.js';
import { incomingOf, requestHeader } from './node-bindings.js';

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `body exceeds ${maxBytes} bytes`);
}

/**
 * The connection closed mid-body: the client went away, or the server cut it
 * off. The body's deadline is the server's request timeout (src/http/listen.ts):
 * Node answers 408 and closes a connection whose request has not fully
 * arrived in time, which ends the read here, so no timer is armed per request.
 */
function incomplete(): ApiError {
  return new ApiError(408, 'body_incomplete', 'the connection closed before the whole body arrived');
}

function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // The listeners stay until the message goes with its request: removing
    // them would cost each request more than it spares.
    incoming.on('data', (chunk: Buffer) => {
      if (size > maxBytes) return; // refused already: the rest is discarded as it arrives, the 413 goes out meanwhile
      size += chunk.length;
      if (size > maxBytes) reject(tooLarge(maxBytes));
      else chunks.push(chunk);
    });
    incoming.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    incoming.on('error', () => reject(incomplete()));
  });
}

export async function readBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(requestHeader(c, 'content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const incoming = incomingOf(c);
  if (incoming && !incoming.readableDidRead) return readIncoming(incoming, maxBytes);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}
