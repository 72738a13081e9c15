import { describe, expect, it } from 'vitest';
import { parseExport, planStart } from './start-plan.js';

describe('planStart', () => {
  it('runs the native services, init and API keys off when no address is configured', () => {
    const plan = planStart({ PATH: '/bin', API_PORT: '9000' });
    expect(plan).toEqual({ kind: 'native', env: { PATH: '/bin', API_PORT: '9000', STREAMTRACK_AUTH: 'open' } });
  });

  it('keeps an auth mode that was set', () => {
    expect(planStart({ STREAMTRACK_AUTH: 'keys' }).env.STREAMTRACK_AUTH).toBe('keys');
  });

  it('runs only the two processes, as configured, when any address is set', () => {
    const plan = planStart({ CLICKHOUSE_URL: 'http://db:8123' });
    expect(plan).toEqual({ kind: 'configured', configured: ['CLICKHOUSE_URL'], env: { CLICKHOUSE_URL: 'http://db:8123' } });
    expect(planStart({ KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r:8081' })).toMatchObject({
      kind: 'configured',
      configured: ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL'],
    });
  });

  it('takes an empty address as not configured', () => {
    expect(planStart({ KAFKA_BROKERS: '' }).kind).toBe('native');
  });
});

describe('parseExport', () => {
  it("reads services.sh's address lines and nothing else", () => {
    expect(parseExport('export KAFKA_BROKERS=127.0.0.1:9092')).toEqual(['KAFKA_BROKERS', '127.0.0.1:9092']);
    expect(parseExport('export CLICKHOUSE_URL=http://127.0.0.1:8123')).toEqual(['CLICKHOUSE_URL', 'http://127.0.0.1:8123']);
    expect(parseExport('[services] kafka started (pid 1)')).toBeUndefined();
    expect(parseExport('export lower=x')).toBeUndefined();
  });
});
