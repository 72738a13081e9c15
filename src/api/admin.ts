/**
 * /admin: a project's keys, managed with one of its `admin` keys (the same
 * operations as `streamtrack keys ...`, confined to the key's project; never
 * with a token confined to one user, whatever its scope). A new
 * key is in the answer once and nowhere else. Changes reach this process at
 * once and every other API process within a key refresh.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../auth/api-key.js';
import type { KeyCache } from '../auth/key-cache.js';
import type { KeyStore, StoredKey } from '../auth/key-store.js';
import type { Principal } from '../auth/principal.js';
import { forbidden, type AccessControl, type PrincipalVariables } from './access.js';
import { ACCESS_ERROR_RESPONSES, ApiError, errorResponse } from './errors.js';
import { iso, refuseInvalidParameters } from './params.js';

const KeySchema = z
  .object({
    key_id: z.string(),
    name: z.string(),
    scopes: z.array(z.enum(SCOPES)),
    created_at: z.string().datetime(),
    revoked_at: z.string().datetime().nullable(),
  })
  .openapi('ApiKey', { description: 'A key as stored: never its secret.' });

const NewKeySchema = KeySchema.extend({
  key: z.string().openapi({ description: 'The whole key: shown this once. `st_wk_…` (write only, may be public) or `st_sk_…` (secret).' }),
}).openapi('NewApiKey');

const CreateKeyBody = z
  .object({
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
    name: z.string().max(200).default(''),
  })
  .strict();

function describe(key: StoredKey): z.infer<typeof KeySchema> {
  return { key_id: key.keyId, name: key.name, scopes: key.scopes, created_at: iso(key.createdAt), revoked_at: key.revokedAt === null ? null : iso(key.revokedAt) };
}

const listRoute = createRoute({
  method: 'get',
  path: '/keys',
  summary: "The project's keys, revoked ones included (never their secrets)",
  responses: { 200: { description: 'The keys', content: { 'application/json': { schema: z.object({ keys: z.array(KeySchema) }) } } }, ...ACCESS_ERROR_RESPONSES },
});

const createKeyRoute = createRoute({
  method: 'post',
  path: '/keys',
  summary: 'A new key of the project',
  request: { body: { required: true, content: { 'application/json': { schema: CreateKeyBody } } } },
  responses: {
    201: { description: 'The new key, shown once', content: { 'application/json': { schema: NewKeySchema } } },
    400: errorResponse('`invalid_parameter`'),
    ...ACCESS_ERROR_RESPONSES,
  },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/keys/{key_id}',
  summary: 'Revokes a key of the project: every API process refuses it within seconds',
  request: { params: z.object({ key_id: z.string() }) },
  responses: { 204: { description: 'Revoked' }, 404: errorResponse('`not_found`: no live key of this project with that id'), ...ACCESS_ERROR_RESPONSES },
});

/** `keys` is absent in open mode, where no request has a project to administer. */
export function createAdminRoutes(access: AccessControl, keys: { store: KeyStore; cache: KeyCache } | undefined) {
  const adminOf = ({ projectId, userId }: Principal) => {
    if (projectId === undefined || !keys) throw forbidden('admin routes need an admin key of a project (in open mode, use the streamtrack CLI)');
    // A key it made would not carry the confinement: a user's token must never mint one.
    if (userId !== undefined) throw forbidden('a token confined to one user cannot manage keys');
    return { projectId, ...keys };
  };
  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  routes.use(access.reads('admin'));
  return routes
    .openapi(listRoute, async (c) => {
      const { projectId, store } = adminOf(c.get('principal'));
      return c.json({ keys: (await store.keys(projectId)).map(describe) }, 200);
    })
    .openapi(createKeyRoute, async (c) => {
      const { projectId, store, cache } = adminOf(c.get('principal'));
      const body = c.req.valid('json');
      const { key, stored } = await store.createKey(projectId, body.scopes, body.name);
      await cache.refresh();
      return c.json({ ...describe(stored), key }, 201);
    })
    .openapi(revokeRoute, async (c) => {
      const { projectId, store, cache } = adminOf(c.get('principal'));
      if (!(await store.revokeKey(c.req.valid('param').key_id, projectId))) throw new ApiError(404, 'not_found', 'no live key of this project with that id');
      await cache.refresh();
      return c.body(null, 204);
    });
}
