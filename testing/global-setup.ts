/** Vitest global setup of the integration and e2e tests: services up once, down at the end. */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
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
  return () => services.stop();
}
