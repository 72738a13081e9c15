/**
 * Vitest global setup of the integration and e2e tests: services up once,
 * down at the end, and what the run added to them removed (leftovers.ts).
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { removeAddedLater } from './leftovers.js';
import { startServices, type ServiceAddresses } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceAddresses;
  }
}

/** The addresses without the passwords, for CI logs. */
function printable({ clickhousePassword, kafkaSasl, kafkaRolePasswords, ...rest }: ServiceAddresses) {
  return {
    ...rest,
    clickhousePassword: clickhousePassword ? '(set)' : '(empty)',
    kafka: kafkaSasl ? `SASL ${kafkaSasl.mechanism} as ${kafkaSasl.username}${kafkaRolePasswords ? ', role users present' : ''}` : 'no SASL',
  };
}

export default async function setup(project: TestProject) {
  const services = await startServices();
  console.log(`[integration] services from ${services.addresses.source}:`, printable(services.addresses));
  project.provide('services', services.addresses);
  const removeLeftovers = await removeAddedLater(services.addresses, 'integration');
  return async () => {
    await removeLeftovers();
    await services.stop();
  };
}
