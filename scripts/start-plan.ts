/**
 * What `npm start` runs, decided from the environment alone (scripts/start.ts
 * carries it out): the native services, `init`, the API and a worker when no
 * service address is configured; only the API and the worker otherwise.
 */
export const ADDRESS_VARIABLES = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'CLICKHOUSE_URL'] as const;

export type StartPlan =
  /** Services from scripts/services.sh, then `init`, then the two processes; API keys off unless set. */
  | { kind: 'native'; env: NodeJS.ProcessEnv }
  /** The two processes only, against the addresses given (any of the three set counts). */
  | { kind: 'configured'; configured: string[]; env: NodeJS.ProcessEnv };

export function planStart(environment: NodeJS.ProcessEnv): StartPlan {
  const configured = ADDRESS_VARIABLES.filter((name) => environment[name]);
  if (configured.length > 0) return { kind: 'configured', configured, env: { ...environment } };
  return { kind: 'native', env: { ...environment, STREAMTRACK_AUTH: environment.STREAMTRACK_AUTH ?? 'open' } };
}

/** An `export NAME=value` line of `services.sh up|env`, as [name, value]. */
export function parseExport(line: string): [string, string] | undefined {
  const match = /^export ([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
  return match?.[1] && match[2] !== undefined ? [match[1], match[2]] : undefined;
}
