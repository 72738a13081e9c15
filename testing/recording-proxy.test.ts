import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordingProxy, type RecordingProxy } from './recording-proxy.js';
import { waitFor } from './wait-for.js';

let api: Server;
let proxy: RecordingProxy;
/** What the API received: method, path, headers, body. */
let received: Array<{ method: string; path: string; headers: IncomingHttpHeaders; body: string }>;

beforeEach(async () => {
  received = [];
  api = createServer((incoming, response) => {
    let body = '';
    incoming.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    incoming.on('end', () => {
      received.push({ method: incoming.method ?? '', path: incoming.url ?? '', headers: incoming.headers, body });
      response.writeHead(incoming.method === 'OPTIONS' ? 204 : 202, { 'access-control-allow-origin': '*', 'x-from': 'api' }).end(incoming.method === 'OPTIONS' ? '' : '{"accepted":1}');
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  proxy = await recordingProxy(`http://127.0.0.1:${(api.address() as AddressInfo).port}`);
});

afterEach(async () => {
  await proxy.close();
  await new Promise((resolve) => api.close(resolve));
});

/** A request through the proxy as a browser sends it, `mode` in Sec-Fetch-Mode. */
function send(method: string, path: string, mode: string, body = ''): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: '127.0.0.1', port, method, path, headers: { 'sec-fetch-mode': mode, 'content-type': 'text/plain;charset=UTF-8', origin: 'http://page.test' } }, (answer) => {
      let text = '';
      answer.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: text }));
    });
    outgoing.once('error', reject);
    outgoing.end(body);
  });
}

const batch = (...ids: string[]) => JSON.stringify({ batch: ids.map((event_id) => ({ event_id, action: 'a' })), write_key: 'k' });

describe('recordingProxy', () => {
  it('forwards requests and answers unchanged, and records each POST /track with how it was sent', async () => {
    expect(await send('OPTIONS', '/track', 'cors')).toMatchObject({ status: 204 });
    const answer = await send('POST', '/track', 'cors', batch('e1', 'e2'));
    expect(answer).toMatchObject({ status: 202, body: '{"accepted":1}', headers: { 'x-from': 'api', 'access-control-allow-origin': '*' } });
    await send('POST', '/track?x=1', 'no-cors', batch('e3'));
    await send('POST', '/other', 'cors', batch('e4'));

    expect(received.map((r) => [r.method, r.path, r.headers.origin, r.headers['sec-fetch-mode']])).toEqual([
      ['OPTIONS', '/track', 'http://page.test', 'cors'],
      ['POST', '/track', 'http://page.test', 'cors'],
      ['POST', '/track?x=1', 'http://page.test', 'no-cors'],
      ['POST', '/other', 'http://page.test', 'cors'],
    ]);
    expect(received[1]?.body).toBe(batch('e1', 'e2'));
    expect(proxy.tracked).toEqual([
      { via: 'fetch', ids: ['e1', 'e2'], arrival: 1, status: 202 },
      { via: 'beacon', ids: ['e3'], arrival: 2, status: 202 },
    ]);
    expect(proxy.mark()).toBe(4);
  });

  it('holds back the answers it is told to, after the API has them, until released', async () => {
    const release = proxy.holdAnswers((r) => r.ids.includes('held'));
    let answered = false;
    const held = send('POST', '/track', 'cors', batch('held')).then((answer) => {
      answered = true;
      return answer;
    });
    await waitFor(() => (proxy.tracked.length === 1 ? true : undefined), { timeoutMs: 5000, what: 'the held request recorded' });
    expect(received).toHaveLength(1);
    // Others pass meanwhile.
    expect(await send('POST', '/track', 'no-cors', batch('free'))).toMatchObject({ status: 202 });
    expect(answered).toBe(false);
    release();
    expect(await held).toMatchObject({ status: 202, body: '{"accepted":1}' });
  });

  it('answers 502 and records it when the API cannot be reached', async () => {
    await new Promise((resolve) => api.close(resolve));
    expect(await send('POST', '/track', 'cors', batch('lost'))).toMatchObject({ status: 502 });
    expect(proxy.tracked).toEqual([{ via: 'fetch', ids: ['lost'], arrival: 0, status: 502 }]);
    api.listen(0, '127.0.0.1'); // afterEach closes it
  });
});
