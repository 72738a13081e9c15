#!/usr/bin/env node
/**
 * StreamTrack's command line: `api`, `worker`, the one-shot `init`
 * (migrations, topics, schemas: run before the API and the workers, which
 * create none of them), `migrate` and `register-schemas`, and
 * `projects …` / `keys …` (src/auth/manage.ts).
 * Each process builds its config from the environment once, here.
 */
import { bootstrapSteps, runSteps } from './bootstrap.js';
import { loadConfig } from './config.js';
import { createKafka } from './kafka/client.js';
import { startApi } from './api/server.js';
import { createLogger, type Logger } from './logger.js';
import { createRegistry, registerEventSchemas, valueSubject } from './serde/event-schemas.js';
import { createKeyStore } from './auth/key-store.js';
import { MANAGE_USAGE, UsageError, manage } from './auth/manage.js';
import { createClickHouse } from './storage/clickhouse.js';
import { migrate } from './storage/migrations.js';
import { startWorker } from './worker/worker.js';

/** The API's: its HTTP server's longest request (30 s by default) less a margin. */
const API_SHUTDOWN_DEADLINE_MS = 25_000;

/** On SIGTERM or SIGINT: `close`, then exit; at `deadlineMs` the process exits whatever `close` is doing. */
function onTermination(logger: Logger, deadlineMs: number, close: () => Promise<void>) {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown deadline passed; exiting');
      process.exit(1);
    }, deadlineMs).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

async function main(command: string | undefined): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, `streamtrack-${command ?? 'cli'}`);
  switch (command) {
    // Signals are handled from the first moment: a SIGTERM while starting
    // waits for the start to finish, then shuts down cleanly.
    case 'api': {
      const starting = startApi(config, logger);
      onTermination(logger, API_SHUTDOWN_DEADLINE_MS, async () => (await starting).close());
      await starting;
      return;
    }
    case 'worker': {
      const starting = startWorker(config, logger);
      onTermination(logger, config.worker.shutdownGraceMs, async () => (await starting).close());
      const worker = await starting;
      const error = await worker.consumer.crashed;
      logger.fatal({ err: error }, 'consumer stopped for good; exiting');
      process.exit(1);
    }
    case 'init': {
      await runSteps(bootstrapSteps(config, createKafka(config.kafka, logger)));
      logger.info('migrations applied, topics present, schemas registered');
      return;
    }
    case 'migrate': {
      const applied = await migrate(config.clickhouse);
      logger.info({ applied: applied.map((m) => `${m.version}_${m.name}`) }, 'migrations applied');
      return;
    }
    case 'projects':
    case 'keys': {
      // Migrations first, so the tables exist on a fresh database (the CLI runs with the init job's rights).
      await migrate(config.clickhouse);
      const clickhouse = createClickHouse(config.clickhouse);
      try {
        for (const line of await manage(createKeyStore(clickhouse), process.argv.slice(2))) console.log(line);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        console.error(`${error.message}\n${MANAGE_USAGE}`);
        process.exitCode = 2;
      } finally {
        await clickhouse.close();
      }
      return;
    }
    case 'register-schemas': {
      const subject = valueSubject(config.kafka.eventsTopic);
      const id = await registerEventSchemas(createRegistry(config.schemaRegistry.url), subject);
      logger.info({ subject, id }, 'schemas registered');
      return;
    }
    default:
      console.error(`usage: streamtrack api|worker|init|migrate|register-schemas\n${MANAGE_USAGE}`);
      process.exit(2);
  }
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
