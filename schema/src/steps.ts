/**
 * Startup as an ordered list of named steps; teardown always runs, in reverse, for every step that
 * started, whether startup finished, failed half-way, or the process is told to stop.
 */
export interface Step {
  name: string;
  /** Starts the part; returns how to stop it (or nothing when there is nothing to stop). */
  start: () => Promise<(() => Promise<void> | void) | void>;
}

export interface StepLogger {
  info: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
}

export class StepError extends Error {
  override name = 'StepError';
  constructor(readonly step: string, options: { cause: unknown }) {
    super(`${step}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
  }
}

/** A stop that takes longer is abandoned (and logged) so that the steps before it still stop. */
export const STEP_STOP_TIMEOUT_MS = 15_000;

export async function runSteps(steps: Step[], log: StepLogger, stopTimeoutMs = STEP_STOP_TIMEOUT_MS): Promise<() => Promise<void>> {
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  const teardown = async () => {
    while (stops.length > 0) {
      const s = stops.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), stopTimeoutMs); });
        const outcome = await Promise.race([Promise.resolve(s.stop()).then(() => 'stopped' as const), timedOut]);
        if (outcome === 'timeout') log.error({ 'step.name': s.name, 'step.timeoutMs': stopTimeoutMs }, 'stop timed out; moving on');
        else log.info({ 'step.name': s.name }, 'stopped');
      } catch (err) {
        log.error({ 'step.name': s.name, err }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
  };
  for (const step of steps) {
    try {
      const t0 = performance.now();
      const stop = await step.start();
      if (stop) stops.push({ name: step.name, stop });
      log.info({ 'step.name': step.name, 'step.ms': Math.round(performance.now() - t0) }, 'started');
    } catch (cause) {
      await teardown();
      throw new StepError(step.name, { cause });
    }
  }
  return teardown;
}
