import { constants } from 'node:os';
import { latencyQuantile, type AlertV1, type EventV1, type HeartbeatV1 } from '@vigil/schema';

/**
 * Characters that change what a terminal shows without showing themselves: controls (they move the
 * cursor, recolour, retitle), format characters (bidi overrides and isolates such as U+202E reorder
 * the rest of the line; zero-width spaces, joiners and tag characters hide text), line and paragraph
 * separators, and lone surrogates.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const escapeHidden = (c: string): string => {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  const code = c.codePointAt(0)!;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
};

/**
 * One line of human output from text anyone may have written (argv, paths, a heartbeat's fields):
 * what would rewrite or reorder the terminal is shown escaped, e.g. `\u202e`. `--json` output stays exact.
 */
export const printable = (s: string): string => s.replace(HIDDEN, escapeHidden);

export function table(headers: string[], rows: string[][], maxWidth = 60): string {
  const cells = rows.map((r) =>
    r.map((c) => {
      const p = printable(c);
      return p.length > maxWidth ? `${p.slice(0, maxWidth - 1)}…` : p;
    }),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

export function nsToIso(ns: string): string {
  const ms = Number(BigInt(ns) / 1_000_000n);
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** A syscall's negative return as its errno name (-2 → ENOENT), else the number. */
export const errnoName = (ret: number): string => ERRNO_NAMES.get(-ret) ?? String(ret);

/** What an event is about, in one cell. A failed exec names its error and the file it tried. */
export function eventDetail(ev: EventV1): string {
  switch (ev.kind) {
    case 'exec': {
      const argv = `${ev.exec.argv.join(' ')}${ev.exec.argvTruncated ? ' …' : ''}`;
      return ev.exec.ret ? `${errnoName(ev.exec.ret)} ${ev.exec.filename}: ${argv}` : argv;
    }
    case 'exit':
      return ev.exit.signal !== null ? `killed by signal ${ev.exit.signal}` : `exit ${ev.exit.code}`;
    case 'connect': {
      const dst =
        ev.connect.family === 'ipv6'
          ? `[${ev.connect.daddr}]:${ev.connect.dport}`
          : `${ev.connect.daddr}:${ev.connect.dport}`;
      return `${ev.connect.hostname ? `${ev.connect.hostname} ` : ''}${dst}${ev.connect.count > 1 ? ` ×${ev.connect.count}` : ''}${ev.connect.ret !== null && ev.connect.ret !== 0 ? ` (${errnoName(ev.connect.ret)})` : ''}`;
    }
    case 'dns': {
      const d = ev.dns;
      const q = `${d.qname ?? '?'} ${d.qtypeName ?? d.qtype ?? '?'}`;
      const a = d.direction === 'answer' ? ` → ${d.answers.map((x) => x.addr).join(', ') || `rcode ${d.rcode}`}` : '';
      return `${d.direction} ${q}${a}${d.server ? ` @${d.server.addr}` : ''}${d.malformed ? ` (${d.malformed})` : ''}`;
    }
    case 'gpu':
      return `${ev.gpu.device} ${ev.gpu.name}${ev.gpu.rmClassName ? ` ${ev.gpu.rmClassName}` : ev.gpu.rmClass !== null ? ` class 0x${ev.gpu.rmClass.toString(16)}` : ''}${ev.gpu.rmControl !== null ? ` cmd 0x${ev.gpu.rmControl.toString(16)}` : ''}${ev.gpu.count > 1 ? ` ×${ev.gpu.count}` : ''}`;
    case 'exe':
      return `${ev.exe.path} sha256:${ev.exe.sha256}${ev.exe.recentlyWritten ? ' (recently written)' : ''}${ev.exe.reference ? ' (reference)' : ''}`;
    case 'conn': {
      const c = ev.conn;
      const ep = (e: { addr: string; port: number }) =>
        c.family === 'ipv6' ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;
      const peer =
        c.event === 'listen'
          ? `listen ${ep(c.local)}`
          : `${c.event} ${c.direction ?? ''} ${ep(c.local)} ${c.direction === 'in' ? '<-' : '->'} ${ep(c.remote)}`;
      return `${peer}${c.durationMs !== null ? ` ${Math.round(c.durationMs)} ms` : ''}${c.count > 1 ? ` ×${c.count}` : ''}`;
    }
    case 'config': {
      const f = ev.config;
      return `${f.reason} ${f.path}${f.error ? ` (${f.error})` : ''}${f.directives.length ? `: ${f.directives.join(' | ')}` : ''}`;
    }
  }
}

export function eventsTable(events: EventV1[]): string {
  return table(
    ['TIME', 'HOST', 'KIND', 'PID', 'COMM', 'PARENT', 'DETAIL'],
    events.map((ev) => [
      nsToIso(ev.ts),
      ev.host,
      ev.kind,
      String(ev.proc.pid),
      ev.proc.comm,
      ev.proc.ancestry[0] ? `${ev.proc.ancestry[0].comm}(${ev.proc.ancestry[0].pid})` : '',
      eventDetail(ev),
    ]),
    80,
  );
}

export function alertsTable(alerts: AlertV1[]): string {
  // Alerts a suppression held back (`vigil alerts --suppressed`) say which one, and why.
  const held = alerts.some((a) => a.suppressed);
  return table(
    ['TIME', 'SEVERITY', 'RULE', 'HOST', 'PROCESS', 'COUNT', 'REASON', ...(held ? ['SUPPRESSED BY'] : [])],
    alerts.map((a) => [
      nsToIso(a.ts),
      a.severity.toUpperCase(),
      a.ruleId,
      a.host,
      a.proc ? `${a.proc.comm}(${a.proc.pid})${a.grouped ? ` +${a.grouped.processes - 1}` : ''}` : '',
      String(a.count),
      a.reason,
      ...(held ? [a.suppressed ? suppressedBy(a.suppressed) : ''] : []),
    ]),
    100,
  );
}

const suppressedBy = (s: NonNullable<AlertV1['suppressed']>) => `suppressions[${s.index}] (${s.rule}): ${s.reason}`;

/** One alert told in full: what, why, the process and its ancestry, the evidence (each line escaped as a whole). */
export function alertStory(a: AlertV1): string {
  const lines = [
    `${nsToIso(a.ts)}  ${a.severity.toUpperCase()}  ${a.ruleId}  ${a.title}${a.count > 1 ? `  (×${a.count})` : ''}`,
  ];
  lines.push(
    `  host ${a.host}${a.mitre.length ? `  MITRE ${a.mitre.join(', ')}` : ''}${a.author ? `  rule by ${a.author}` : ''}`,
  );
  lines.push(`  ${a.reason}`);
  if (a.proc) {
    lines.push(`  process ${a.proc.pid} ${a.proc.exe || a.proc.comm}: ${a.proc.argv.join(' ')}`);
    if (a.proc.job || a.proc.containerId)
      lines.push(
        `  ${a.proc.job ? `job ${a.proc.job}` : ''}${a.proc.containerId ? ` container ${a.proc.containerId.slice(0, 12)}` : ''}`,
      );
    for (const anc of a.proc.ancestry) lines.push(`    ↑ ${anc.pid} ${anc.comm}: ${anc.argv.join(' ').slice(0, 120)}`);
  }
  if (a.grouped)
    lines.push(
      `  ${a.grouped.processes} processes (${a.grouped.by === 'command-shape' ? 'one command shape' : "past the rule's rate cap"}), e.g. pids ${a.grouped.samples.map((x) => x.pid).join(', ')}`,
    );
  lines.push(`  evidence ${a.evidence.join(' ')}`);
  if (a.suppressed) lines.push(`  not raised: held back by ${suppressedBy(a.suppressed)}`);
  return lines.map(printable).join('\n');
}

/** A sensor's stage latencies on one line, `stage p50/p99` (bucket bounds: upper estimates). */
export function latencyLine(latency: HeartbeatV1['latency']): string {
  if (!latency) return '';
  const fmt = (x: number | null) => (x === null ? '-' : x < 10 ? x.toFixed(1) : x.toFixed(0));
  return Object.entries(latency.stages)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([stage, h]) =>
        `${stage} ${fmt(latencyQuantile(h, 0.5, latency.boundsMs))}/${fmt(latencyQuantile(h, 0.99, latency.boundsMs))}`,
    )
    .join(', ');
}
