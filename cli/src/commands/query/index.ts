import { Args } from '@oclif/core';
import { VigilCommand } from '../../base-command.js';
import { apiTarget, runQuery, type QueryResult } from '../../services/api-client.js';
import { table } from '../../services/render.js';
import { apiFlag } from '../../services/flags.js';

export default class Query extends VigilCommand {
  static override description = 'Run read-only SQL against the event store (tables: events, sensor_heartbeats).';
  static override enableJsonFlag = true;
  static override examples = [`<%= config.bin %> query "SELECT comm, count() FROM events WHERE kind = 'exec' GROUP BY comm ORDER BY 2 DESC LIMIT 10"`];
  static override args = { sql: Args.string({ required: true, description: 'SQL: one SELECT on Vigil\'s tables (writes, INTO OUTFILE, file() and other host-reaching functions are refused)' }) };
  static override flags = { api: apiFlag };

  async run(): Promise<QueryResult> {
    const { args, flags } = await this.parse(Query);
    try {
      const result = await runQuery(apiTarget(flags.api), args.sql);
      if (!this.jsonEnabled()) {
        const cell = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
        this.log(table(result.columns.map((c) => c.name), result.rows.map((r) => result.columns.map((c) => cell(r[c.name])))));
        if (result.rowsTruncated) this.logToStderr(`(result cut at ${result.cut ? `${result.cut.limit} ${result.cut.by}` : '10000 rows'})`);
      }
      return result;
    } catch (err) {
      this.error((err as Error).message, { exit: 1 });
    }
  }
}
