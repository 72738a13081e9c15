/**
 * The server's limits against hostile clients, over real sockets on
 * 127.0.0.1: headers or a body sent a byte at a time are cut off at the
 * configured deadline (the bound is what the test checks), connections over
 * the cap are closed while the ones open keep being served, and /healthz
 * answers throughout. Small timeouts keep it fast.
 */
import { connect, type Socket } from 'node:net';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { readBody } from '../api/request-body.js';
import { waitFor } from '../../testing/wait-for.js';
import { listen, type HttpServerLimits, type Listening } from './listen.js';

const LIMITS: HttpServerLimits = { headersTimeoutMs: 500, requestTimeoutMs: 1_000, keepAliveTimeoutMs: 10_000, maxConnections: 50 };
/** Node looks for late requests every quarter of the shorter timeout (listen.ts): the cut comes at most that late, plus scheduling. */
const SLACK_MS = 500;

const app = new Hono()
  .get('/healthz', (c) => c.json({ status: 'ok' }))
  .post('/echo', async (c) => c.json({ bytes: (await readBody(c, 10_000)).length }))
  // A body cut off mid-way fails the read: answered to nobody, and not logged here.
  .onError((_, c) => c.body(null, 500));

interface RawClient {
  socket: Socket;
  received(): string;
  /** Resolves when the server closed the connection, with when (ms after connecting). */
  closed: Promise<number>;
}

async function rawClient(port: number): Promise<RawClient> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const started = Date.now();
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', () => {}); // a reset is one way of being cut off
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  return { socket, received: () => data, closed };
}

/** Writes `text` a byte every `intervalMs` until the socket closes. */
function dribble(socket: Socket, text: string, intervalMs: number) {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= text.length) return clearInterval(timer);
    socket.write(text[i++]!);
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
}

async function healthz(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
}

let server: Listening | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await server?.close();
  server = undefined;
});

describe('listen', () => {
  it('cuts off a client that sends its headers a byte at a time after the headers timeout, and keeps serving others', async () => {
    server = await listen(app, '127.0.0.1', 0, LIMITS);
    const slow = await rawClient(server.port);
    dribble(slow.socket, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${'a'.repeat(1_000)}\r\n\r\n`, 20);
    expect(await healthz(server.port)).toBe(200);
    const after = await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(after).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(after).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
    expect(await healthz(server.port)).toBe(200);
  });

  it('closes a connection that sends nothing after the headers timeout (idle sockets cannot fill the cap)', async () => {
    server = await listen(app, '127.0.0.1', 0, LIMITS);
    const idle = await rawClient(server.port);
    const after = await idle.closed;
    expect(after).toBeGreaterThanOrEqual(LIMITS.headersTimeoutMs - 50);
    expect(after).toBeLessThan(LIMITS.headersTimeoutMs + SLACK_MS);
  });

  it('cuts off a client that sends its body a byte at a time within the request timeout', async () => {
    server = await listen(app, '127.0.0.1', 0, LIMITS);
    const slow = await rawClient(server.port);
    slow.socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    dribble(slow.socket, 'x'.repeat(1_000), 20);
    expect(await healthz(server.port)).toBe(200);
    const after = await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(after).toBeGreaterThanOrEqual(LIMITS.requestTimeoutMs - 50);
    expect(after).toBeLessThan(LIMITS.requestTimeoutMs + SLACK_MS);
    expect(await healthz(server.port)).toBe(200);
  });

  it('still serves a whole request that arrives in time', async () => {
    server = await listen(app, '127.0.0.1', 0, LIMITS);
    const response = await fetch(`http://127.0.0.1:${server.port}/echo`, { method: 'POST', body: 'x'.repeat(5_000) });
    expect(await response.json()).toEqual({ bytes: 5_000 });
  });

  it('closes connections over the cap at once while the open ones keep being served', async () => {
    server = await listen(app, '127.0.0.1', 0, { ...LIMITS, headersTimeoutMs: 5_000, requestTimeoutMs: 5_000, maxConnections: 3 });
    const port = server.port;
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const ask = async (client: RawClient) => {
      const before = client.received().length;
      client.socket.write(request);
      await waitFor(() => (client.received().slice(before).includes('{"status":"ok"}') ? true : undefined), { what: 'an answer' });
    };
    const held = [await rawClient(port), await rawClient(port), await rawClient(port)];
    for (const client of held) await ask(client);

    const over = await rawClient(port);
    over.socket.write(request);
    await over.closed;
    expect(over.received()).toBe('');

    // The held keep-alive connections are still served.
    for (const client of held) await ask(client);

    // One goes: a new connection is served again.
    held[0]!.socket.destroy();
    await waitFor(async () => ((await healthz(port).catch(() => 0)) === 200 ? true : undefined), { what: '/healthz on a new connection' });
  });
});
