/**
 * An HTTP proxy on 127.0.0.1 in front of the API that records every
 * `POST /track` it forwards: which events it carried and how the browser
 * sent it. What a closing page sent is proved by what reached the server,
 * not by a log the page writes as it goes (a write made while a page closes
 * is not reliably persisted).
 *
 * How it was sent: Chromium sends a `navigator.sendBeacon` with a text/plain
 * body in mode no-cors, and every fetch of the SDK (keepalive or not) in mode
 * cors, and says so in `Sec-Fetch-Mode`. A keepalive fetch and a plain one
 * look the same on the wire.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TrackRequest {
  /** `beacon`: Sec-Fetch-Mode no-cors; `fetch`: any other mode. */
  via: 'beacon' | 'fetch';
  /** The event ids of the batch, in its order. */
  ids: string[];
  /** Its place in the order of arrival (body fully received), comparable with `mark()`. */
  arrival: number;
  /** The API's status (502: the API could not be reached). */
  status: number;
}

export interface RecordingProxy {
  /** `http://127.0.0.1:<port>`: the host to give the SDK instead of the API's. */
  url: string;
  /** The `POST /track` requests the API answered, in the order they arrived. */
  tracked: TrackRequest[];
  /** The arrival number the next request will get: a request with `arrival >= mark()` arrived after this call. */
  mark(): number;
  /**
   * Holds back from the browser the API's answers to the requests `match`
   * selects (they are forwarded and recorded at once) until the returned
   * function is called: their batch stays in flight as long as the test needs.
   */
  holdAnswers(match: (request: TrackRequest) => boolean): () => void;
  close(): Promise<void>;
}

function readBody(message: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.once('end', () => resolve(Buffer.concat(chunks)));
    message.once('error', reject);
  });
}

function batchIds(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { batch?: Array<{ event_id?: unknown }> };
    return (parsed.batch ?? []).map((e) => String(e.event_id));
  } catch {
    return [];
  }
}

interface Upstream {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function forward(target: URL, incoming: IncomingMessage, body: Buffer): Promise<Upstream> {
  return new Promise((resolve) => {
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host } },
      (answer) => {
        readBody(answer).then(
          (answerBody) => resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: answerBody }),
          () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }),
        );
      },
    );
    outgoing.once('error', () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }));
    outgoing.end(body);
  });
}

export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const api = new URL(target);
  const tracked: TrackRequest[] = [];
  const holds = new Set<{ match: (request: TrackRequest) => boolean; released: Promise<void> }>();
  let arrivals = 0;

  const server = createServer((incoming, response) => {
    response.on('error', () => undefined); // the page may be gone before its answer: nothing to tell it
    void (async () => {
      const body = await readBody(incoming);
      const arrival = arrivals++;
      const answer = await forward(api, incoming, body);
      if (incoming.method === 'POST' && incoming.url?.split('?')[0] === '/track') {
        const request: TrackRequest = { via: incoming.headers['sec-fetch-mode'] === 'no-cors' ? 'beacon' : 'fetch', ids: batchIds(body), arrival, status: answer.status };
        tracked.push(request);
        for (const hold of holds) if (hold.match(request)) await hold.released;
      }
      if (!response.destroyed) response.writeHead(answer.status, answer.headers).end(answer.body);
    })().catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tracked,
    mark: () => arrivals,
    holdAnswers(match) {
      let release = () => undefined as void;
      const hold = { match, released: new Promise<void>((resolve) => (release = resolve)) };
      holds.add(hold);
      return () => {
        holds.delete(hold);
        release();
      };
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
