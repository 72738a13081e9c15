/**
 * GET /live/events: events as Kafka accepts them, as Server-Sent Events, read
 * from the events topic by this API process itself (src/live/), within the
 * key's project, filtered by user and action. Each `event` carries an `id`,
 * the stream's position (`partition:offset,...`); a client that reconnects
 * with it as `Last-Event-ID` gets what it missed while the process still
 * holds it, else a `gap` naming the partitions. A reader slower than the
 * events loses the oldest (API_LIVE_BUFFER_EVENTS) and gets `dropped` with
 * how many; an idle stream gets a `heartbeat` (API_LIVE_HEARTBEAT_MS).
 *
 * Streams open at once are capped per process (503) and per key (429). The
 * stream is written as the connection takes it (a pull stream: a reader
 * that does not read holds no more than its buffer).
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { LiveLimits } from '../config.js';
import { OPEN_PRINCIPAL } from '../auth/principal.js';
import { parsePosition, type Position, type StreamItem } from '../live/hub.js';
import type { LiveEvents } from '../live/live-events.js';
import { readProject, readUsers, type AccessControl, type PrincipalVariables } from './access.js';
import { ACCESS_ERROR_RESPONSES, ApiError, errorResponse, unavailableResponse } from './errors.js';
import { outgoingOf, requestHeader } from './node-bindings.js';
import { invalidParameters, many, queryParameters, refuseInvalidParameters } from './params.js';

const MAX_VALUES = 100;
/** How soon an EventSource reconnects after the connection dropped. */
const RETRY_MS = 1_000;

const param = (description: string) => ({ param: { description } });

const LiveQuery = queryParameters({
  project_id: z.string().optional().openapi(param('Only this project: with a key or token, its own (another is refused with 403); in open mode, any.')),
  user_id: many(z.string(), MAX_VALUES).openapi(param(`Only these users; repeat for several (up to ${MAX_VALUES}).`)),
  action: many(z.string(), MAX_VALUES).openapi(param(`Only these actions; repeat for several (up to ${MAX_VALUES}).`)),
});

export const liveEventsRoute = createRoute({
  method: 'get',
  path: '/events',
  summary: 'Events as they are accepted, as Server-Sent Events',
  description: [
    'Read from the events topic by the API process, from the moment the stream opens: nothing older unless resumed.',
    'Send the credentials in `Authorization` (read the stream with `fetch`; `EventSource` cannot set headers).',
    '',
    'Event types: `ready` (once: the stream is reading; `data` its position), `event` (`data`: the event as `/activities` lists it, with `partition` and `offset`;',
    '`id`: the stream position after it), `dropped` (`data: {"dropped": n}`: the reader fell behind and the n oldest events waiting were dropped),',
    '`gap` (`data: {"partitions": [...]}`: a resumed stream cannot replay everything after its `Last-Event-ID` in these partitions),',
    '`heartbeat` (while idle; its `id` moves the position on).',
  ].join('\n'),
  request: {
    query: LiveQuery,
    headers: z.object({
      'last-event-id': z
        .string()
        .optional()
        .openapi({ description: 'Resume after this position: the `id` of the last event received (`partition:offset` pairs, comma-separated).' }),
    }),
  },
  responses: {
    200: { description: 'The stream', content: { 'text/event-stream': { schema: z.string().openapi({ example: 'event: event\nid: 0:41,1:17\ndata: {"event_id":"…"}\n\n' }) } } },
    400: errorResponse('`invalid_parameter`: a query parameter, or `Last-Event-ID`, is not valid; `details` names it'),
    ...ACCESS_ERROR_RESPONSES,
    429: {
      ...ACCESS_ERROR_RESPONSES[429],
      description: "`rate_limited`; `too_many_streams`: this key has as many live streams open as allowed (API_LIVE_MAX_CONNECTIONS_PER_KEY)",
    },
    503: unavailableResponse('`too_many_streams`: the process serves as many live streams as allowed (API_LIVE_MAX_CONNECTIONS); `kafka_unavailable`: the topic cannot be read'),
  },
});

function sse(type: string, data: unknown, id?: string): string {
  return `event: ${type}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

function render(item: StreamItem): string {
  switch (item.kind) {
    case 'event':
      return sse('event', { ...item.event.event, partition: item.event.partition, offset: item.event.offset }, item.position);
    case 'dropped':
      return sse('dropped', { dropped: item.count });
    case 'gap':
      return sse('gap', { partitions: item.partitions });
  }
}

function lastEventId(header: string | undefined): Position | undefined {
  if (header === undefined) return undefined;
  const parsed = parsePosition(header);
  if (!parsed.ok) invalidParameters([{ field: 'Last-Event-ID', expected: 'the id of an event of this stream: partition:offset pairs, comma-separated', problem: parsed.problem }]);
  return parsed.position;
}

export function createLiveRoutes(live: LiveEvents, limits: LiveLimits, access: AccessControl) {
  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  routes.use(access.reads('events:read'));
  return routes.openapi(liveEventsRoute, async (c) => {
    const query = c.req.valid('query');
    const principal = c.get('principal');
    const since = lastEventId(requestHeader(c, 'last-event-id'));
    const filter = {
      projectId: readProject(principal, query.project_id),
      userIds: new Set(readUsers(principal, query.user_id)),
      actions: new Set(query.action),
    };
    const outgoing = outgoingOf(c);
    const opened = await live.open(filter, principal === OPEN_PRINCIPAL ? undefined : principal.subject, since, () => outgoing?.destroy());
    if (!opened.ok) {
      if (opened.reason === 'key_full') throw new ApiError(429, 'too_many_streams', opened.message, undefined, 5);
      throw new ApiError(503, opened.reason === 'process_full' ? 'too_many_streams' : 'kafka_unavailable', opened.message, undefined, 5);
    }
    const { stream } = opened;
    const encoder = new TextEncoder();
    let heartbeat: NodeJS.Timeout | undefined;
    let stopped = false;
    const stop = () => {
      stopped = true;
      clearTimeout(heartbeat);
      stream.close();
    };
    // The connection may close while the stream waits for events: release its slot at once.
    outgoing?.once('close', stop);
    const body = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          controller.enqueue(encoder.encode(`retry: ${RETRY_MS}\n` + sse('ready', { position: stream.idlePosition() ?? null })));
        },
        async pull(controller) {
          const beat = new Promise<'heartbeat'>((resolve) => (heartbeat = setTimeout(resolve, limits.heartbeatMs, 'heartbeat')));
          const woke = await Promise.race([stream.ready().then(() => 'items' as const), beat]);
          clearTimeout(heartbeat);
          if (stopped || stream.isClosed()) {
            controller.close();
            return;
          }
          if (woke === 'heartbeat') {
            controller.enqueue(encoder.encode(sse('heartbeat', {}, stream.idlePosition())));
            return;
          }
          const items = stream.take();
          if (items.length > 0) controller.enqueue(encoder.encode(items.map(render).join('')));
        },
        cancel: stop,
      },
      // Nothing read ahead: a reader that stops reading leaves its events in the stream's bounded buffer.
      { highWaterMark: 0 },
    );
    return c.body(body, 200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
  });
}
