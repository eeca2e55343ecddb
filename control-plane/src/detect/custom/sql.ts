import { Severity, SEVERITIES } from '@vigil/schema';
import { z } from 'zod/v4';

/**
 * A SQL detection: a read-only query with a header of `-- key: value` lines, run on a schedule.
 * Each row it returns is an alert; columns `host` (required), `pid`, `comm`, `exe`, `reason` and
 * `evidence` (array of event ids) are read when present.
 *
 *   -- id: sql.exec-burst
 *   -- title: One process started over 100 programs in a minute
 *   -- severity: medium
 *   -- interval: 1m
 *   -- mitre: T1059
 *   SELECT host, pid, any(comm) AS comm, count() AS n, concat('started ', toString(n), ' programs') AS reason
 *   FROM events WHERE kind = 'exec' AND ts > now() - INTERVAL 1 MINUTE GROUP BY host, pid HAVING n > 100
 */
export const SqlHeader = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_", "-"'),
  title: z.string().min(1),
  severity: Severity,
  interval: z.string().regex(/^\d+[smh]$/, 'like 30s, 5m or 1h'),
  mitre: z.string().optional(),
  author: z.string().optional(),
});

export interface SqlDetection {
  id: string;
  title: string;
  severity: z.infer<typeof Severity>;
  intervalMs: number;
  mitre: string[];
  author: string | null;
  sql: string;
  origin: string;
}

const UNIT = { s: 1000, m: 60_000, h: 3_600_000 } as const;

export function parseSqlDetection(text: string, origin: string): SqlDetection {
  const header: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^--\s*([a-z]+):\s*(.+?)\s*$/.exec(line);
    if (m) header[m[1]!] = m[2]!;
  }
  const h = SqlHeader.safeParse(header);
  if (!h.success)
    throw new Error(
      `header: ${h.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} (severity one of ${SEVERITIES.join(', ')})`,
    );
  const sql = text
    .split('\n')
    .filter((l) => !/^\s*--/.test(l))
    .join('\n')
    .trim()
    .replace(/;\s*$/, '');
  if (!sql) throw new Error('no query after the header');
  const n = Number(h.data.interval.slice(0, -1));
  return {
    id: h.data.id,
    title: h.data.title,
    severity: h.data.severity,
    intervalMs: n * UNIT[h.data.interval.slice(-1) as keyof typeof UNIT],
    mitre: h.data.mitre ? h.data.mitre.split(/[\s,]+/).filter(Boolean) : [],
    author: h.data.author ?? null,
    sql,
    origin,
  };
}
