/**
 * `streamtrack projects …` and `streamtrack keys …`: managing projects and
 * keys from a shell, straight against ClickHouse (with the init job's
 * credentials). The answer is lines for stdout; the last line is what a
 * script wants: a new key, a new JWT secret, a project's name.
 *
 *   projects create NAME [--write-rate N] [--read-rate N] [--origin URL]...
 *   projects update NAME [--write-rate N] [--read-rate N] [--origin URL]... [--jwks-url URL --issuer ISS] [--audience AUD]
 *   projects jwt-secret NAME      a new HS256 secret for the project's tokens (replaces the old one)
 *   projects list
 *   keys create --project NAME --scope write|events:read|stats:read|admin [--scope …] [--name TEXT]
 *   keys list [--project NAME]
 *   keys revoke KEY_ID
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { isScope, type Scope } from './api-key.js';
import { KeyStoreError, type KeyStore, type ProjectSettings } from './key-store.js';

export const MANAGE_USAGE = [
  'usage: streamtrack projects create NAME [--write-rate N] [--read-rate N] [--origin URL]...',
  '       streamtrack projects update NAME [--write-rate N] [--read-rate N] [--origin URL]... [--jwks-url URL --issuer ISS] [--audience AUD]',
  '       streamtrack projects jwt-secret NAME',
  '       streamtrack projects list',
  '       streamtrack keys create --project NAME --scope write|events:read|stats:read|admin [--scope ...] [--name TEXT]',
  '       streamtrack keys list [--project NAME]',
  '       streamtrack keys revoke KEY_ID',
].join('\n');

/** A command line that cannot be carried out as written (exit 2). */
export class UsageError extends Error {}

const OPTIONS = {
  'write-rate': { type: 'string' },
  'read-rate': { type: 'string' },
  origin: { type: 'string', multiple: true },
  'jwks-url': { type: 'string' },
  issuer: { type: 'string' },
  audience: { type: 'string' },
  project: { type: 'string' },
  scope: { type: 'string', multiple: true },
  name: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function rate(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--${flag} must be a whole number of events or requests per second (0: the server's default)`);
  return Number(value);
}

function settingsOf(values: Values): Partial<ProjectSettings> {
  const settings: Partial<ProjectSettings> = {};
  const write = rate(values['write-rate'], 'write-rate');
  const read = rate(values['read-rate'], 'read-rate');
  if (write !== undefined) settings.writeEventsPerSecond = write;
  if (read !== undefined) settings.readRequestsPerSecond = read;
  if (values.origin) settings.allowedOrigins = values.origin;
  if (values['jwks-url'] !== undefined) {
    if (values.issuer === undefined) throw new UsageError('--jwks-url needs --issuer: tokens from a JWKS are accepted from that issuer only');
    try {
      new URL(values['jwks-url']);
    } catch {
      throw new UsageError(`--jwks-url is not a URL: ${values['jwks-url']}`);
    }
    settings.jwtJwksUrl = values['jwks-url'];
  }
  if (values.issuer !== undefined) settings.jwtIssuer = values.issuer;
  if (values.audience !== undefined) settings.jwtAudience = values.audience;
  return settings;
}

function scopesOf(values: Values): Scope[] {
  const given = (values.scope ?? []).flatMap((s) => s.split(',')).map((s) => s.trim());
  if (given.length === 0) throw new UsageError('keys create needs --scope (write, events:read, stats:read or admin)');
  const unknown = given.filter((s) => !isScope(s));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}: write, events:read, stats:read or admin`);
  return given as Scope[];
}

/** Runs one command; its output lines, the last one the command's result. */
export async function manage(store: KeyStore, args: string[]): Promise<string[]> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [noun, verb, target] = positionals;
  const needTarget = (what: string) => {
    if (!target) throw new UsageError(`${noun} ${verb} needs ${what}`);
    return target;
  };
  try {
    switch (`${noun} ${verb}`) {
      case 'projects create': {
        const project = await store.createProject(needTarget('a NAME'), settingsOf(values));
        return [`project ${project.projectId} created`, project.projectId];
      }
      case 'projects update': {
        const project = await store.updateProject(needTarget('a NAME'), settingsOf(values));
        return [`project ${project.projectId} updated`, project.projectId];
      }
      case 'projects jwt-secret': {
        const secret = randomBytes(32).toString('base64url');
        await store.updateProject(needTarget('a NAME'), { jwtHs256Secret: secret });
        return ['new HS256 secret for tokens of this project (shown once; tokens signed with the old one are refused from now on):', secret];
      }
      case 'projects list':
        return (await store.projects()).map(
          (p) =>
            `${p.projectId}\twrite ${p.writeEventsPerSecond || 'default'}/s\tread ${p.readRequestsPerSecond || 'default'}/s\torigins ${p.allowedOrigins.join(',') || '-'}\ttokens ${p.jwtJwksUrl ? `JWKS ${p.jwtJwksUrl}` : p.jwtHs256Secret ? 'HS256' : '-'}`,
        );
      case 'keys create': {
        if (!values.project) throw new UsageError('keys create needs --project NAME');
        const { key, stored } = await store.createKey(values.project, scopesOf(values), values.name ?? '');
        return [`key ${stored.keyId} of project ${stored.projectId}, scopes ${stored.scopes.join(' ')} (shown once):`, key];
      }
      case 'keys list':
        return (await store.keys(values.project)).map(
          (k) => `${k.keyId}\t${k.projectId}\t${k.scopes.join(' ')}\t${k.revokedAt === null ? 'live' : `revoked ${new Date(k.revokedAt).toISOString()}`}\t${k.name}`,
        );
      case 'keys revoke': {
        const keyId = needTarget('a KEY_ID');
        if (!(await store.revokeKey(keyId))) throw new KeyStoreError(`no live key ${keyId}`);
        return [`key ${keyId} revoked: every API process refuses it within seconds`, keyId];
      }
      default:
        throw new UsageError(`unknown command: ${positionals.join(' ')}`);
    }
  } catch (error) {
    if (error instanceof KeyStoreError) throw new UsageError(error.message);
    throw error;
  }
}
