import { Args, Flags } from '@oclif/core';
import { ApiCommand } from '../../base-command.js';
import { runQuery } from '../../services/api-client.js';
import type { QueryResult } from '@vigil/schema';
import { renderRows, RESULT_FORMATS, type ResultFormat } from '../../services/result-format.js';

export default class Query extends ApiCommand<typeof Query> {
  static override description =
    'Run read-only SQL against the event store (tables: events, sensor_heartbeats). The rows come back as JSON; --format prints them as a table, CSV, TSV or a JSON array (a FORMAT clause in the SQL is refused).';
  static override enableJsonFlag = true;
  static override examples = [
    `<%= config.bin %> query "SELECT comm, count() FROM events WHERE kind = 'exec' GROUP BY comm ORDER BY 2 DESC LIMIT 10"`,
    `<%= config.bin %> query --format csv "SELECT * FROM events WHERE kind = 'connect' LIMIT 100" > connects.csv`,
  ];
  static override args = {
    sql: Args.string({
      required: true,
      description:
        "SQL: one SELECT on Vigil's tables (writes, INTO OUTFILE, FORMAT, SETTINGS, file() and other host-reaching functions are refused)",
    }),
  };
  static override flags = {
    format: Flags.option({
      options: RESULT_FORMATS,
      default: 'table' as ResultFormat,
      description:
        'how the rows are printed: table, csv and tsv with a header line, json as one array of row objects (--json prints the whole answer: columns, rows, whether it was cut)',
    })(),
  };

  async run(): Promise<QueryResult> {
    const { args, flags } = this;
    const result = await runQuery(this.api(), args.sql);
    if (!this.jsonEnabled()) {
      this.log(renderRows(result, flags.format, process.stdout.isTTY === true));
      if (result.rowsTruncated)
        this.logToStderr(`(result cut at ${result.cut ? `${result.cut.limit} ${result.cut.by}` : '10000 rows'})`);
    }
    return result;
  }
}
