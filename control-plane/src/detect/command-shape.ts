import type { ProcessV1 } from '@vigil/schema';

/** Arguments of the shape at most, each cut to this many characters before it is templated. */
const SHAPE_ARGS = 8;
const SHAPE_ARG_CHARS = 64;

/** An argument with what varies between runs of one command (numbers, hex ids, uuids) made constant. */
const templateArg = (a: string): string =>
  a
    .slice(0, SHAPE_ARG_CHARS)
    .replace(/[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}/gi, 'U')
    .replace(/\b[0-9a-f]{8,}\b/gi, 'H')
    .replace(/\d+/g, '#');

/**
 * What makes processes "the same command" for grouping their alerts: the image, the argument
 * template and the parent's name. A storm of one command (10,000 miner-like execs) is one shape; a
 * different binary, different flags or another parent is another.
 */
export function commandShape(proc: ProcessV1): string {
  const args = proc.argv.slice(1, 1 + SHAPE_ARGS).map(templateArg);
  return [proc.exe || proc.comm, ...args, `<${proc.ancestry[0]?.comm ?? ''}`].join('\u0000');
}
