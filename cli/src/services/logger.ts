import { Flags } from '@oclif/core';
import { pino, destination, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { printable } from './render.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

export const logFlags = {
  'log-format': Flags.string({
    description:
      'json: one JSON object a line (for log collectors); pretty: readable lines [default: $VIGIL_LOG_FORMAT, else pretty when stderr is a terminal, json when not]',
    options: [...LOG_FORMATS],
  }),
};

/** The flag's format, else $VIGIL_LOG_FORMAT's, else readable lines on a terminal and JSON elsewhere. */
export function logFormat(
  flag: string | undefined,
  env = process.env.VIGIL_LOG_FORMAT,
  tty = process.stderr.isTTY === true,
): LogFormat {
  const chosen = flag ?? (env || undefined);
  if (chosen === undefined) return tty ? 'pretty' : 'json';
  if (!(LOG_FORMATS as readonly string[]).includes(chosen))
    throw new LogFormatError(`VIGIL_LOG_FORMAT must be one of ${LOG_FORMATS.join(', ')}, not "${chosen}"`);
  return chosen as LogFormat;
}

/**
 * Every string of a log record with what would act on a terminal escaped (see render.ts printable):
 * log records carry what the watched workload wrote (argv, paths, host names). A stack keeps its lines.
 */
function escapeRecord(value: unknown, key = ''): unknown {
  if (typeof value === 'string')
    return key === 'stack' ? value.split('\n').map(printable).join('\n') : printable(value);
  if (Array.isArray(value)) return value.map((v) => escapeRecord(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [printable(k), escapeRecord(v, k)]));
  return value;
}

/** pino's JSON lines as readable, escaped lines, written to `out`. */
export function prettyStream(out: { write(s: string): unknown }, colorize: boolean): DestinationStream {
  const pretty = pinoPretty.prettyFactory({ colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,app' });
  return {
    write(line: string) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        out.write(`${printable(line.trimEnd())}\n`);
        return;
      }
      out.write(pretty(escapeRecord(record)));
    },
  };
}

/**
 * The one logger of a long-running command, on stderr, level from VIGIL_LOG_LEVEL: JSON lines, or
 * readable ones (see logFormat).
 */
export function createLogger(format: LogFormat = logFormat(undefined)): Logger {
  const opts = { level: process.env.VIGIL_LOG_LEVEL ?? 'info', base: { app: 'vigil' } };
  const stderr = destination(2);
  if (format === 'json') return pino(opts, stderr);
  return pino(opts, prettyStream(stderr, process.stderr.isTTY === true && !process.env.NO_COLOR));
}
