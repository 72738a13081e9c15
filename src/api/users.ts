/**
 * GET /users/:user_id: what the project knows of a user, from the events
 * stored under the user's id and the ids linked to it (identify and alias):
 * the newest value of each trait, the linked ids, first and last seen.
 * Confined like every read: a key reads its own project's users (another
 * project's user is as unknown as one that never was, 404), a token
 * confined to a user reads only that user, and without its links: links are
 * what clients assert with the project's public write key, so one could link
 * someone else's anonymous id to its own user to read it.
 */
import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { ClickHouseClient } from '@clickhouse/client';
import { MAX_LINKED_IDS, userProfile } from '../storage/identity-query.js';
import { readProject, readUsers, type AccessControl, type PrincipalVariables } from './access.js';
import { ACCESS_ERROR_RESPONSES, ApiError, CLICKHOUSE_ERROR_RESPONSES, errorResponse } from './errors.js';
import { iso, queryParameters, refuseInvalidParameters } from './params.js';

const TimeSchema = z.string().datetime().openapi({ description: 'ISO-8601, UTC' });

export const UserSchema = z
  .object({
    user_id: z.string(),
    project_id: z.string(),
    traits: z
      .record(z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .openapi({ description: "Each trait's value from the latest identify (by event time) of the user or of an id linked to it" }),
    linked_ids: z
      .array(z.object({ id: z.string(), linked_at: TimeSchema.openapi({ description: 'Event time of the first identify or alias that linked it' }) }))
      .openapi({ description: `Anonymous (or previous) ids linked to the user by identify or alias, earliest first; at most ${MAX_LINKED_IDS}` }),
    first_seen: TimeSchema.openapi({ description: 'Earliest event time of the user and its linked ids' }),
    last_seen: TimeSchema.openapi({ description: 'Latest event time of the user and its linked ids' }),
  })
  .openapi('User');

export const userRoute = createRoute({
  method: 'get',
  path: '/{user_id}',
  summary: "A user's traits, linked ids, first and last seen",
  description: 'Needs `events:read`. A token confined to a user reads that user alone, without linked ids. Other parameters than `project_id` are refused.',
  request: {
    params: z.object({ user_id: z.string().openapi({ param: { description: "The application's own user identifier" } }) }),
    query: queryParameters({
      project_id: z
        .string()
        .optional()
        .openapi({ param: { description: 'Which project: with a key or token, its own (another is refused with 403); in open mode, `default` unless named.' } }),
    }),
  },
  responses: {
    200: { description: 'The user', content: { 'application/json': { schema: UserSchema } } },
    400: errorResponse('`invalid_parameter`'),
    404: errorResponse('`not_found`: the project has no event of this user'),
    ...ACCESS_ERROR_RESPONSES,
    ...CLICKHOUSE_ERROR_RESPONSES,
  },
});

export function createUsersRoutes(clickhouse: ClickHouseClient, access: AccessControl) {
  const routes = new OpenAPIHono<{ Variables: PrincipalVariables }>({ defaultHook: refuseInvalidParameters });
  routes.use(access.reads('events:read'));
  return routes.openapi(userRoute, async (c) => {
    const principal = c.get('principal');
    const userId = readUsers(principal, [c.req.valid('param').user_id])[0]!;
    const projectId = readProject(principal, c.req.valid('query').project_id) ?? 'default';
    const profile = await userProfile(clickhouse, projectId, userId, principal.userId === undefined);
    if (!profile) throw new ApiError(404, 'not_found', `no events of user "${userId}" in this project`);
    return c.json(
      {
        user_id: userId,
        project_id: projectId,
        traits: profile.traits,
        linked_ids: profile.links.map((link) => ({ id: link.id, linked_at: iso(link.linkedAt) })),
        first_seen: iso(profile.firstSeen),
        last_seen: iso(profile.lastSeen),
      },
      200,
    );
  });
}
