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
