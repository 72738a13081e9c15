/**
 * Vitest global setup of the integration and e2e tests: services up once,
 * down at the end, and what the run added to them removed (leftovers.ts).
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { listTestObjects, removeTestObjects } from './leftovers.js';
import { startServices, type ServiceAddresses } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServiceAddresses;
  }
}

export default async function setup(project: TestProject) {
  const services = await startServices();
  console.log(`[integration] services from ${services.addresses.source}:`, services.addresses);
  project.provide('services', services.addresses);
  const before = await listTestObjects(services.addresses);
  return async () => {
    const problems = await removeTestObjects(services.addresses, before);
    if (problems.length > 0) console.warn(`[integration] test objects left behind:\n  ${problems.join('\n  ')}`);
    await services.stop();
  };
}
