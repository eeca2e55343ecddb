import type { AlertV1 } from '@vigil/schema';
import { useEffect, useState } from 'preact/hooks';
import { followAlerts } from './api.js';

/**
 * New alerts as the control plane raises them (one stream for the whole page). Pages that show
 * alerts or incidents reload when `useLiveTick` changes: an incident is made or updated by an alert.
 */
const bus = new EventTarget();
let recent: AlertV1[] = [];
let stop: AbortController | null = null;

export function startLive(): void {
  stop?.abort();
  stop = new AbortController();
  void followAlerts((a) => {
    recent = [a, ...recent].slice(0, 50);
    bus.dispatchEvent(new Event('alert'));
  }, stop.signal);
}

export function stopLive(): void {
  stop?.abort();
  stop = null;
}

/** Changes at most once a second while alerts arrive. */
export function useLiveTick(): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const on = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        setTick((t) => t + 1);
      }, 1000);
    };
    bus.addEventListener('alert', on);
    return () => {
      bus.removeEventListener('alert', on);
      clearTimeout(timer);
    };
  }, []);
  return tick;
}

export const recentAlerts = (): AlertV1[] => recent;
