import type { ComponentChildren } from 'preact';

/** Nanoseconds since the epoch as a Date. */
export const nsDate = (ns: string | number): Date => new Date(Number(BigInt(ns) / 1_000_000n));
export const nsNow = (): string => (BigInt(Date.now()) * 1_000_000n).toString();
export const nsAgo = (seconds: number): string => (BigInt(Date.now() - seconds * 1000) * 1_000_000n).toString();

/**
 * The browser's zone and date-time format, as Date.toLocaleString writes it; made once, since each
 * toLocaleString call builds a formatter anew, and an incident's timeline holds a thousand times.
 */
const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** A time in the browser's zone, with UTC on hover. */
export function Time({ ns }: { ns: string | null | undefined }) {
  if (!ns) return <span>—</span>;
  const d = nsDate(ns);
  return (
    <time dateTime={d.toISOString()} title={`${d.toISOString().replace('T', ' ').replace('Z', '')} UTC`}>
      {LOCAL.format(d)}
    </time>
  );
}

export function ErrorBox({ error }: { error: string | null }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Sev({ s }: { s: string }) {
  return <span class={`sev sev-${s}`}>{s}</span>;
}

/** Seconds as "4s", "3m", "2h", "5d". */
export function age(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}
