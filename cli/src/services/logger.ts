import { pino, destination, type Logger } from 'pino';

/** The one logger of a long-running command: JSON lines on stderr, level from VIGIL_LOG_LEVEL. */
export function createLogger(): Logger {
  return pino({ level: process.env.VIGIL_LOG_LEVEL ?? 'info', base: { app: 'vigil' } }, destination(2));
}
