/**
 * A request's body as bytes, at most `maxBytes`: 413 `payload_too_large`
 * beyond, whether Content-Length says so up front or a chunked body runs over.
 *
 * On the Node server it reads the IncomingMessage itself (node-bindings.ts).
 * Through the Fetch API, @hono/node-server would build an undici Request, a
 * ReadableStream and an AbortSignal for every request: under /track load that
 * was about a fifth of the API's CPU (bench:track, CPU profile). In process
 * (`app.request` in tests) there is no IncomingMessage and the Fetch body is read.
 *
 * `readDecodedBody` also takes a gzip body (`Content-Encoding: gzip`, as
 * RudderStack's libraries send by default): the compressed bytes are bounded
 * as any body, and so is what they inflate to, checked as it is inflated, so a
 * small body claiming gigabytes (a gzip bomb) is refused after inflating the
 * limit's worth, never whole.
 */
import type { IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
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

const ENCODINGS = ['identity', 'gzip', 'x-gzip'];

/** Refused before the body is read: an encoding this route cannot decode. */
export function checkContentEncoding(c: Context): void {
  const encoding = (requestHeader(c, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (!ENCODINGS.includes(encoding)) {
    throw new ApiError(415, 'unsupported_content_encoding', `Content-Encoding must be gzip or identity, got "${encoding}"`);
  }
}

/** The body as sent, inflated when gzip: at most `maxBytes` either way (413 `payload_too_large` beyond). */
export async function readDecodedBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  checkContentEncoding(c);
  const bytes = await readBody(c, maxBytes);
  const encoding = (requestHeader(c, 'content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return bytes;
  try {
    // Stops inflating once the output passes maxOutputLength: what a bomb costs is bounded by the limit.
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new ApiError(413, 'payload_too_large', `body inflates to more than ${maxBytes} bytes`);
    }
    throw new ApiError(400, 'invalid_gzip', `body is not valid gzip: ${(error as Error).message}`);
  }
}
