/**
 * A local HTTP server (node:http on 127.0.0.1) playing StreamTrack's
 * `POST /track` for the SDK's unit tests: each request is recorded and
 * answered by the test's script, which can also answer garbage, close the
 * connection, or never answer at all.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WireEvent } from '../src/events.js';

export interface SentBatch {
  batch: WireEvent[];
  sent_at: string;
  write_key: string;
}

export interface Received {
  body: SentBatch;
  contentType: string | undefined;
  at: number;
}

export type Reply =
  | { status: number; body?: string; headers?: Record<string, string> }
  | 'hang'
  | 'reset';

export type Script = (request: Received, index: number) => Reply;

/** The real API's answer to a batch, every event accepted. */
export function acceptAll(request: Received): Reply {
  const results = request.body.batch.map((e, index) => ({ index, status: 'accepted', event_id: e.event_id, partition: 0, offset: String(index), schema_id: 1 }));
  return { status: 202, body: JSON.stringify({ accepted: results.length, refused: 0, results }) };
}

export class FakeApi {
  readonly received: Received[] = [];
  script: Script = acceptAll;
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Every event id received, in order, resends included. */
  ids(): string[] {
    return this.received.flatMap((r) => r.body.batch.map((e) => e.event_id));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const received: Received = { body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SentBatch, contentType: request.headers['content-type'], at: Date.now() };
    this.received.push(received);
    const reply = this.script(received, this.received.length - 1);
    if (reply === 'hang') return;
    if (reply === 'reset') {
      request.socket.destroy();
      return;
    }
    response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(reply.body ?? '');
  }
}
