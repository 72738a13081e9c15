/**
 * ClickHouse's HTTP interface served from the chdb engine (ClickHouse 26.x
 * in-process), for machines where no ClickHouse server can be installed.
 *
 * TEST INFRASTRUCTURE ONLY: this is never StreamTrack's storage. Production and
 * Docker stacks run clickhouse/clickhouse-server; the product talks to either
 * through @clickhouse/client, unchanged. This process covers what that client
 * sends: the query in the URL and/or the body (body appended, as the server
 * does), `param_*` query parameters with the server's Escaped-format parsing,
 * settings as URL parameters, the `database` parameter, inserts with inline
 * data (a binary format's, such as RowBinary, through a temporary file that
 * the statement reads FROM INFILE: the engine takes statements as text),
 * `/ping`, and ClickHouse-style errors (`Code: N. DB::Exception: ...`, the
 * X-ClickHouse-Exception-Code header and the server's status codes).
 *
 * The engine runs one statement at a time: requests are queued, because
 * settings and parameters are session state and must not leak between them.
 *
 * Env: CHDB_HTTP_PORT (8123), CHDB_HTTP_HOST (127.0.0.1), CHDB_DATA_DIR.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Session } from 'chdb';

const port = Number(process.env.CHDB_HTTP_PORT ?? 8123);
const host = process.env.CHDB_HTTP_HOST ?? '127.0.0.1';
const dataDir = process.env.CHDB_DATA_DIR ?? '.run/clickhouse';
const DISPLAY_NAME = 'chdb-http-server (test infrastructure, not a ClickHouse server)';

/** URL parameters that are part of the HTTP protocol, not engine settings (`database` is applied with USE). */
const PROTOCOL_PARAMS = new Set([
  'query', 'database', 'default_format', 'query_id', 'session_id', 'session_timeout',
  'session_check', 'user', 'password', 'quota_key', 'compress', 'decompress', 'buffer_size',
  'role', 'default_database',
]);
/** Settings that only shape the HTTP response; the engine has nothing to do with them here. */
const HTTP_ONLY_SETTINGS = new Set([
  'wait_end_of_query', 'send_progress_in_http_headers', 'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms', 'enable_http_compression', 'http_zlib_compression_level',
  'http_response_buffer_size', 'http_response_compression_method', 'cancel_http_readonly_queries_on_client_close',
]);
/** ClickHouse error code -> HTTP status, as the server maps them. Anything else is 500. */
const STATUS_BY_CODE: Record<number, number> = {
  6: 400, 27: 400, 36: 400, 38: 400, 53: 400, 62: 400, 69: 400, 70: 400, 72: 400, 117: 400,
  130: 400, 456: 400, 457: 400, 115: 400,
  46: 404, 47: 404, 50: 404, 60: 404, 73: 404, 81: 404,
  164: 403, 497: 403,
  159: 500, 158: 500,
};

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLACEHOLDER = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:[^{}]+\}/g;

const session = new Session(dataDir);
// Parameters arrive here as `SET param_x = '...'` statements, which the
// parser limits to max_query_size; the server applies them without parsing,
// up to its URL limit (1 MiB). Allow statements that large.
await session.queryAsync('SET max_query_size = 16777216');
let queue: Promise<unknown> = Promise.resolve();
let currentDatabase = 'default';

/** A ClickHouse string literal whose value is exactly `raw`. */
function literal(raw: string): string {
  return `'${raw.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

class ProtocolError extends Error {
  constructor(readonly code: number, readonly codeName: string, message: string) {
    super(`Code: ${code}. DB::Exception: ${message}. (${codeName})`);
  }
}

interface ParsedRequest {
  sql: string;
  /** Binary insert data, for the statement to read from this file. */
  infile?: { path: string; data: Buffer };
  database: string;
  format: string;
  queryId: string;
  settings: Map<string, string>;
  params: Map<string, string>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = req.headers['content-encoding'];
  if (encoding === 'gzip') return gunzipSync(raw);
  if (encoding && encoding !== 'identity') {
    throw new ProtocolError(36, 'BAD_ARGUMENTS', `Unsupported Content-Encoding ${encoding}`);
  }
  return raw;
}

/** An INSERT whose data (the body) is in a binary format: it cannot travel inside the statement's text. */
const BINARY_INSERT = /^\s*INSERT\b[\s\S]*\bFORMAT\s+(RowBinary\w*|Native)\s*$/i;

async function parseRequest(req: IncomingMessage, url: URL): Promise<ParsedRequest> {
  const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
  const urlQuery = url.searchParams.get('query');
  const queryId = url.searchParams.get('query_id') ?? randomUUID();
  let infile: ParsedRequest['infile'];
  let sql: string;
  if (urlQuery !== null && raw.length > 0 && BINARY_INSERT.test(urlQuery)) {
    infile = { path: join(tmpdir(), `chdb-http-${randomUUID()}.bin`), data: raw };
    sql = urlQuery.replace(/\bFORMAT\s+(\w+)\s*$/i, `FROM INFILE ${literal(infile.path)} FORMAT $1`);
  } else {
    const body = raw.toString('utf8');
    // The server runs the URL's query followed by the body (insert data).
    sql = urlQuery !== null ? (body.length > 0 ? `${urlQuery}\n${body}` : urlQuery) : body;
  }
  const settings = new Map<string, string>();
  const params = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (key.startsWith('param_')) params.set(key.slice('param_'.length), value);
    else if (!PROTOCOL_PARAMS.has(key) && !HTTP_ONLY_SETTINGS.has(key)) {
      if (!IDENTIFIER.test(key)) throw new ProtocolError(115, 'UNKNOWN_SETTING', `Unknown setting ${key}`);
      settings.set(key, value);
    }
  }
  for (const name of new Set([...sql.matchAll(PLACEHOLDER)].map((m) => m[1]!))) {
    if (!params.has(name)) {
      throw new ProtocolError(456, 'UNKNOWN_QUERY_PARAMETER', `Substitution \`${name}\` is not set`);
    }
  }
  const database = url.searchParams.get('database') ?? 'default';
  if (!IDENTIFIER.test(database)) throw new ProtocolError(81, 'UNKNOWN_DATABASE', `Database ${database} does not exist`);
  return {
    sql,
    ...(infile ? { infile } : {}),
    database,
    format: url.searchParams.get('default_format') ?? 'TabSeparated',
    queryId,
    settings,
    params,
  };
}

function assignments(entries: Iterable<[string, string]>, prefix = ''): string {
  return [...entries].map(([k, v]) => `${prefix}${k} = ${literal(v)}`).join(', ');
}

/**
 * The settings now SET in the session. A statement changes only what differs
 * from them (a client sends the same settings with nearly every request), so
 * each statement runs with exactly its own settings without a SET and a reset
 * around every one.
 */
let appliedSettings = new Map<string, string>();

async function applySettings(wanted: Map<string, string>) {
  const changes = [
    ...[...appliedSettings.keys()].filter((key) => !wanted.has(key)).map((key) => `${key} = DEFAULT`),
    ...[...wanted].filter(([key, value]) => appliedSettings.get(key) !== value).map(([key, value]) => `${key} = ${literal(value)}`),
  ];
  if (changes.length === 0) return;
  try {
    await session.queryAsync(`SET ${changes.join(', ')}`);
    appliedSettings = new Map(wanted);
  } catch (error) {
    // Unknown state: back to the defaults of everything that may be set.
    for (const key of new Set([...appliedSettings.keys(), ...wanted.keys()])) {
      await session.queryAsync(`SET ${key} = DEFAULT`).catch(() => undefined);
    }
    appliedSettings = new Map();
    throw error;
  }
}

async function execute(request: ParsedRequest) {
  const { settings, params } = request;
  if (request.database !== currentDatabase) {
    await session.queryAsync(`USE ${request.database}`);
    currentDatabase = request.database;
  }
  if (params.size > 0) await session.queryAsync(`SET ${assignments(params, 'param_')}`);
  await applySettings(settings);
  if (!request.infile) return session.queryAsync(request.sql, { format: request.format });
  await writeFile(request.infile.path, request.infile.data);
  try {
    return await session.queryAsync(request.sql, { format: request.format });
  } finally {
    await unlink(request.infile.path);
  }
}

function contentType(format: string, sql: string): string {
  const explicit = /\bFORMAT\s+([A-Za-z]+)\s*;?\s*$/i.exec(sql.split('\n', 1)[0] ?? '')?.[1] ?? format;
  return explicit.startsWith('JSON') ? 'application/json; charset=UTF-8' : 'text/plain; charset=UTF-8';
}

function sendError(res: ServerResponse, error: unknown) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ProtocolError ? error.code : Number(/^Code: (\d+)\./.exec(message)?.[1] ?? 1001);
  const text = message.startsWith('Code: ') ? message : `Code: ${code}. DB::Exception: ${message}`;
  res.writeHead(STATUS_BY_CODE[code] ?? 500, {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Exception-Code': String(code),
    'X-ClickHouse-Server-Display-Name': DISPLAY_NAME,
  });
  res.end(`${text}\n`);
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', `http://${host}`);
  if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
    return;
  }
  if (url.pathname !== '/' || (req.method !== 'POST' && req.method !== 'GET')) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('There is no handle for this path\n');
    return;
  }
  try {
    const request = await parseRequest(req, url);
    const run = queue.then(() => execute(request));
    queue = run.catch(() => undefined);
    const result = await run;
    const summary = {
      read_rows: String(result.rowsRead),
      read_bytes: String(result.bytesRead),
      written_rows: '0',
      written_bytes: '0',
      total_rows_to_read: '0',
      elapsed_ns: String(Math.round(result.elapsed * 1e9)),
    };
    res.writeHead(200, {
      'Content-Type': contentType(request.format, request.sql),
      'X-ClickHouse-Query-Id': request.queryId,
      'X-ClickHouse-Format': request.format,
      'X-ClickHouse-Timezone': 'UTC',
      'X-ClickHouse-Summary': JSON.stringify(summary),
      'X-ClickHouse-Server-Display-Name': DISPLAY_NAME,
    });
    res.end(Buffer.from(result.bytes()));
  } catch (error) {
    sendError(res, error);
  }
}

// Query parameters travel in the URL: allow what the server does (http_max_uri_size, 1 MiB).
const server = createServer({ maxHeaderSize: 1 << 20 }, (req, res) => void handle(req, res));
server.keepAliveTimeout = 10_000;
server.listen(port, host, () => {
  console.log(`${DISPLAY_NAME} listening on http://${host}:${port}, data in ${dataDir}`);
});

function shutdown() {
  server.close(() => {
    session.close();
    process.exit(0);
  });
  setTimeout(() => process.exit(0), 3000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
