/**
 * The browser pages the API serves itself, with every file they load from
 * this same origin (no CDN: self-hosted deployments are often closed
 * networks):
 *
 *   /ui     the web UI (ui/), as `npm run build:ui` built it into dist/ui/:
 *           index.html and its assets; pages are routed in the URL's hash
 *   /docs   Swagger UI over /openapi.json, its script and styles from the
 *           swagger-ui-dist package
 *
 * Files are read once and kept, gzipped when the browser takes it. Only the
 * names a directory listing had are served: a request never turns into a
 * path. A UI that was not built answers a page saying how to build it (503).
 */
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Hono, type Context, type Env, type Schema } from 'hono';
import { PACKAGE_ROOT } from '../package-root.js';

export const UI_PATH = '/ui';
/** Where `npm run build:ui` writes the UI (scripts/build-ui.ts), beside the compiled server. */
export const UI_BUILD_DIR = join(PACKAGE_ROOT, 'dist', 'ui');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** Scripts and styles from this origin only; the pages' requests go to this API alone. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

interface Asset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

function asset(name: string, body: Buffer): Asset {
  return { type: TYPES[extname(name)] ?? 'application/octet-stream', body, gzipped: gzipSync(body, { level: 9 }) };
}

function send(c: Context, file: Asset, cacheControl: string) {
  const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
  const headers: Record<string, string> = {
    'Content-Type': file.type,
    'Cache-Control': cacheControl,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    Vary: 'Accept-Encoding',
  };
  if (gzip) headers['Content-Encoding'] = 'gzip';
  return c.body(new Uint8Array(gzip ? file.gzipped : file.body), 200, headers);
}

/** The files of a directory (not below it), read once on first use; a failed read is retried on the next request. */
function directory(dir: string, accept: (name: string) => boolean) {
  let loaded: Promise<Map<string, Asset>> | undefined;
  return () => {
    loaded ??= (async () => {
      const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && accept(e.name)).map((e) => e.name);
      return new Map(await Promise.all(names.map(async (name) => [name, asset(name, await readFile(join(dir, name)))] as const)));
    })();
    loaded.catch(() => (loaded = undefined));
    return loaded;
  };
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>StreamTrack UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The StreamTrack UI is not built</h1>
<p>This API serves the web UI from <code>dist/ui/</code>, which does not exist here. Build it with
<code>npm run build:ui</code> (<code>npm run build</code> and <code>npm start</code> do it too), then reload.</p>
<p>The API itself works: see <a href="/docs">/docs</a>.</p>
</body></html>`;

/** /ui/: the built UI, or a page saying it is not built; /ui redirects there (the page names its assets under /ui/assets/). */
export function serveUi<E extends Env, S extends Schema, B extends string>(app: Hono<E, S, B>, dir = UI_BUILD_DIR): Hono<E, S, B> {
  const files = directory(dir, (name) => name === 'index.html' || /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.(js|css|png|svg)$/.test(name));
  app.get(UI_PATH, (c) => c.redirect(`${UI_PATH}/`, 308));
  app.get(`${UI_PATH}/`, async (c) => {
    const page = (await files().catch(() => undefined))?.get('index.html');
    if (!page) return c.html(NOT_BUILT, 503, { 'Cache-Control': 'no-store' });
    return send(c, page, 'no-cache');
  });
  app.get(`${UI_PATH}/assets/:name`, async (c) => {
    const file = (await files().catch(() => undefined))?.get(c.req.param('name') ?? '');
    if (!file) return c.json({ error: { code: 'not_found', message: 'no such UI asset; was the UI rebuilt? Reload the page' } }, 404);
    // Asset names carry a hash of their content (scripts/build-ui.ts): cached for good.
    return send(c, file, 'public, max-age=31536000, immutable');
  });
  return app;
}

const SWAGGER_FILES = new Set(['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png']);

/** The page's own script: no inline script, so the page runs under the same strict policy as the UI. */
const SWAGGER_INIT = (openApiPath: string) =>
  Buffer.from(`window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: ${JSON.stringify(openApiPath)}, dom_id: '#swagger-ui', deepLinking: true });
});
`);

const SWAGGER_PAGE = (title: string) =>
  Buffer.from(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head><body><main id="swagger-ui"></main>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body></html>`);

/** /docs: Swagger UI from swagger-ui-dist, served by the API. */
export function createDocsRoutes(openApiPath: string, title: string) {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const files = directory(dir, (name) => SWAGGER_FILES.has(name));
  const page = asset('docs.html', SWAGGER_PAGE(title));
  const init = asset('init.js', SWAGGER_INIT(openApiPath));
  return new Hono()
    .get('/', (c) => send(c, page, 'no-cache'))
    .get('/assets/:name', async (c) => {
      const name = c.req.param('name');
      if (name === 'init.js') return send(c, init, 'no-cache');
      const file = (await files()).get(name);
      if (!file) return c.json({ error: { code: 'not_found', message: 'no such docs asset' } }, 404);
      return send(c, file, 'public, max-age=86400');
    });
}
