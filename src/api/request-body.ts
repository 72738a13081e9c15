/**
 * A request's body as bytes, at most `maxBytes`: 413 `payload_too_large`
 * beyond, whether Content-Length says so up front or a chunked body runs over.
 *
 * On the Node server it reads the IncomingMessage itself. Reading through the
 * Fetch API makes @hono/node-server build a full Request (undici Request, a
 * ReadableStream, an AbortSignal) for every request: under /track load that
 * was about a fifth of the API's CPU (bench:track, CPU profile). In process
 * (`app.request` in tests) there is no IncomingMessage and the Fetch body is read.
 */
import type { IncomingMessage } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ApiError } from './errors.js';

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, 'payload_too_large', `body exceeds ${maxBytes} bytes`);
}

function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stop();
        incoming.resume(); // the rest is discarded as it arrives; the 413 goes out meanwhile
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

export async function readBody(c: Context, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (incoming && !incoming.readableDidRead) return readIncoming(incoming, maxBytes);
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}
