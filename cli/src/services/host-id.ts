import { hostname } from 'node:os';
import { Flags } from '@oclif/core';
import type { Logger } from 'pino';
import { hostIdFrom, hostIdProblem } from '@vigil/schema';

/**
 * `--host-id`: checked at parse time against the rule the control plane holds events to, so that a
 * sensor never starts with an id whose every event would be dead-lettered.
 */
export const hostIdFlag = Flags.custom<string>({
  description:
    'host id in events and subjects: letters, digits, "_" and "-" (default: the hostname, other characters as "_")',
  parse: async (input) => {
    const problem = hostIdProblem(input);
    if (problem) throw new Error(problem);
    return input;
  },
})();

/** This host's id from its hostname; said in the log when the hostname had to be changed to make one. */
export function defaultHostId(log: Logger, name: string = hostname()): string {
  const id = hostIdFrom(name);
  if (id !== name)
    log.info(
      { hostname: name, 'host.id': id },
      'the hostname is not a valid host id as it is; using this one (set --host-id to choose)',
    );
  return id;
}
