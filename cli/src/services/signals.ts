import { existsSync } from 'node:fs';

/**
 * Resolves on the first SIGINT or SIGTERM. Its own module: `vigil sensor` must not import the stack
 * (and with it the control plane and chDB's ~170 MiB library) just to wait for a signal.
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

let setprivPath: string | null | undefined;
/** util-linux's setpriv, when this host has it (Debian: always, util-linux is essential). */
function setpriv(): string | null {
  if (setprivPath === undefined) setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p)) ?? null;
  return setprivPath;
}

/**
 * `command args` started so that it gets `signal` when this process dies, whatever kills it (the OOM
 * killer, kill -9): setpriv sets PR_SET_PDEATHSIG and then execs the command (same pid). The kernel
 * sends it when the thread that spawned the child ends: Node spawns from its main thread. Without
 * setpriv the command runs as it is, and the caller's own leftovers check is all there is.
 */
export function withParentDeathSignal(
  command: string,
  args: string[],
  signal: NodeJS.Signals = 'SIGTERM',
): { command: string; args: string[] } {
  const sp = setpriv();
  return sp ? { command: sp, args: ['--pdeathsig', signal, '--', command, ...args] } : { command, args };
}
