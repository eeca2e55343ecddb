import { watch, type FSWatcher } from 'node:fs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';
import { nowNs, type ProcessV1 } from '@vigil/schema';
import type { DetectionEngine, LoadedDetection } from '../engine.js';
import { loadDetections, type LoadReport } from './loader.js';
import type { SqlDetection } from './sql.js';
import { readOnlyQuery, USER_QUERY_LIMITS, type QueryLimits } from '../../store/readonly-query.js';

/** A process stub from a SQL row's pid/comm/exe columns. */
function rowProcess(row: Record<string, unknown>): ProcessV1 | null {
  const pid = Number(row.pid);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return {
    pid,
    ppid: 0,
    uid: 0,
    gid: 0,
    comm: String(row.comm ?? ''),
    exe: String(row.exe ?? ''),
    argv: [],
    argvTruncated: false,
    cgroupId: 0,
    cgroup: '',
    containerId: null,
    job: null,
    startTs: null,
    ancestry: [],
    ancestryTruncated: true,
  };
}

/**
 * Custom detections from --detections folders: loaded at start, reloaded when a file changes, each
 * broken file reported with its path and reason while the others keep running. SQL detections run
 * on their own schedules against the read-only session.
 */
export class CustomDetections {
  report: LoadReport = { detections: [], sql: [], problems: [], disabled: [] };
  sqlErrors = new Map<string, string>();
  private timers: NodeJS.Timeout[] = [];
  private watchers: FSWatcher[] = [];
  private reloadTimer: NodeJS.Timeout | null = null;
  /** SQL detections with a run in flight: a run slower than its interval is not queued again behind itself. */
  private running = new Set<string>();
  loads = 0;

  constructor(
    private readonly paths: string[],
    private readonly engine: DetectionEngine,
    private readonly builtins: LoadedDetection[],
    /** For user SQL (StorageClients.user). */
    private readonly reader: ClickHouseClient,
    private readonly log: Logger,
    private readonly queryLimits: QueryLimits = USER_QUERY_LIMITS,
  ) {}

  async load(): Promise<void> {
    this.report = await loadDetections(this.paths);
    this.loads++;
    this.engine.setDetections([...this.builtins, ...this.report.detections]);
    for (const t of this.timers) clearInterval(t);
    this.timers = this.report.sql.map((d) => setInterval(() => void this.runSql(d), d.intervalMs));
    for (const p of this.report.problems)
      this.log.warn(
        { 'detection.path': p.path, 'detection.reason': p.reason, 'detection.unsupported': p.unsupported },
        'detection not loaded',
      );
    this.log.info(
      {
        'detections.loaded': this.report.detections.length,
        'detections.sql': this.report.sql.length,
        'detections.problems': this.report.problems.length,
        'detections.disabled': this.report.disabled.map((d) => d.id),
      },
      'custom detections loaded',
    );
  }

  watch(): void {
    for (const p of this.paths) {
      try {
        this.watchers.push(
          watch(p, { recursive: true }, () => {
            if (this.reloadTimer) clearTimeout(this.reloadTimer);
            this.reloadTimer = setTimeout(
              () => void this.load().catch((err: Error) => this.log.error({ err }, 'reload failed')),
              300,
            );
          }),
        );
      } catch (err) {
        this.log.warn({ err, 'detection.path': p }, 'cannot watch for changes');
      }
    }
  }

  async runSql(d: SqlDetection): Promise<number> {
    if (this.running.has(d.id)) return 0;
    this.running.add(d.id);
    try {
      // The same guard and limits as `vigil query`: a detection file is user SQL too.
      const result = await readOnlyQuery(this.reader, d.sql, this.queryLimits, { source: 'detection' });
      this.sqlErrors.delete(d.id);
      const loaded = {
        detection: { id: d.id, title: d.title, severity: d.severity, mitre: d.mitre, on: [], match: () => null },
        source: 'sql' as const,
        author: d.author,
      };
      let raised = 0;
      for (const row of result.rows) {
        const host = typeof row.host === 'string' && row.host ? row.host : null;
        if (!host) {
          this.sqlErrors.set(d.id, 'a row without a `host` column');
          continue;
        }
        const evidence = Array.isArray(row.evidence) ? row.evidence.map(String) : [];
        const reason = typeof row.reason === 'string' ? row.reason : `${d.title}: ${JSON.stringify(row)}`;
        this.engine.raise(loaded, host, rowProcess(row), nowNs(), evidence, { reason });
        raised++;
      }
      return raised;
    } catch (err) {
      this.sqlErrors.set(d.id, (err as Error).message);
      this.log.warn({ err, 'detection.id': d.id }, 'SQL detection failed');
      return 0;
    } finally {
      this.running.delete(d.id);
    }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    for (const w of this.watchers) w.close();
    if (this.reloadTimer) clearTimeout(this.reloadTimer);
  }
}
