/** Structured JSON logs (pino) for both processes; level from the config. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, base: { service: name } });
}
