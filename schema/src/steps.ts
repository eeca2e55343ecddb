/**
 * Startup as an ordered list of named steps; teardown always runs, in reverse, for every step that
 * started, whether startup finished, failed half-way, or the process is told to stop.
 */
export interface Step {
  name: string;
  /**
   * Starts the part; returns how to stop it (or nothing when there is nothing to stop). `signal`
   * aborts when the process is told to stop while starting: waits and retries end on it.
   */
  start: (signal: AbortSignal) => Promise<(() => Promise<void> | void) | void>;
}

export interface StepLogger {
  info: (obj: object, msg: string) => void;
  error: (obj: object, msg: string) => void;
}

export class StepError extends Error {
  override name = 'StepError';
  constructor(
    readonly step: string,
    options: { cause: unknown },
  ) {
    super(`${step}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
  }
}

/** Startup was told to stop (its signal aborted): what had started is stopped again. */
export class StepsAbortedError extends Error {
  override name = 'StepsAbortedError';
  constructor(
    readonly step: string,
    options?: { cause: unknown },
  ) {
    super(`stopped while starting (at ${step})`, options);
  }
}

/** A stop that takes longer is abandoned (and logged) so that the steps before it still stop. */
export const STEP_STOP_TIMEOUT_MS = 15_000;

export interface RunStepsOptions {
  /** How long one step's stop may take (STEP_STOP_TIMEOUT_MS). */
  stopTimeoutMs?: number;
  /**
   * Aborts startup: the running step is given its signal and stopTimeoutMs to end, the rest never
   * start, and runSteps throws StepsAbortedError once what started has stopped. A step that does
   * not end in time is left behind and stopped whenever it does end.
   */
  signal?: AbortSignal;
}

type Started = { ok: true; stop: (() => Promise<void> | void) | void } | { ok: false; cause: unknown };

/** Settles when `signal` aborts and then `graceMs` pass; never when it does not abort. */
function abortedFor(
  signal: AbortSignal | undefined,
  graceMs: number,
): { done: Promise<'abandoned'>; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => undefined;
  const done = new Promise<'abandoned'>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve('abandoned'), graceMs);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
  return {
    done,
    clear: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export async function runSteps(
  steps: Step[],
  log: StepLogger,
  opts: RunStepsOptions = {},
): Promise<() => Promise<void>> {
  const stopTimeoutMs = opts.stopTimeoutMs ?? STEP_STOP_TIMEOUT_MS;
  const signal = opts.signal ?? new AbortController().signal;
  const stops: { name: string; stop: () => Promise<void> | void }[] = [];
  const teardown = async () => {
    while (stops.length > 0) {
      const s = stops.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), stopTimeoutMs);
        });
        const outcome = await Promise.race([Promise.resolve(s.stop()).then(() => 'stopped' as const), timedOut]);
        if (outcome === 'timeout')
          log.error({ 'step.name': s.name, 'step.timeoutMs': stopTimeoutMs }, 'stop timed out; moving on');
        else log.info({ 'step.name': s.name }, 'stopped');
      } catch (err) {
        log.error({ 'step.name': s.name, err }, 'stop failed');
      } finally {
        clearTimeout(timer);
      }
    }
  };
  for (const step of steps) {
    if (signal.aborted) {
      await teardown();
      throw new StepsAbortedError(step.name);
    }
    const t0 = performance.now();
    const started: Promise<Started> = Promise.resolve()
      .then(() => step.start(signal))
      .then(
        (stop) => ({ ok: true as const, stop }),
        (cause: unknown) => ({ ok: false as const, cause }),
      );
    const abandon = abortedFor(signal, stopTimeoutMs);
    const outcome = await Promise.race([started, abandon.done]);
    abandon.clear();
    if (outcome === 'abandoned') {
      log.error(
        { 'step.name': step.name, 'step.timeoutMs': stopTimeoutMs },
        'start did not end when told to stop; moving on',
      );
      // Whatever it started is stopped once it has.
      void started
        .then((r) => (r.ok && r.stop ? r.stop() : undefined))
        .catch((err: unknown) => log.error({ 'step.name': step.name, err }, 'stop failed'));
      await teardown();
      throw new StepsAbortedError(step.name);
    }
    if (outcome.ok && outcome.stop) stops.push({ name: step.name, stop: outcome.stop });
    if (signal.aborted) {
      await teardown();
      throw new StepsAbortedError(step.name, outcome.ok ? undefined : { cause: outcome.cause });
    }
    if (!outcome.ok) {
      await teardown();
      throw new StepError(step.name, { cause: outcome.cause });
    }
    log.info({ 'step.name': step.name, 'step.ms': Math.round(performance.now() - t0) }, 'started');
  }
  return teardown;
}
