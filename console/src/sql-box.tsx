import type { QueryResult } from '@vigil/schema';
import { useState } from 'preact/hooks';
import { post } from './api.js';
import { download, toCsv } from './csv.js';
import { ErrorBox } from './ui.js';

const EXAMPLE =
  "SELECT exe, count() AS n FROM events WHERE kind = 'exec' AND ts > now() - INTERVAL 1 HOUR GROUP BY exe ORDER BY n DESC LIMIT 20";

/** Read-only SQL over the stored events (POST /api/v1/query), the result as a table and as CSV. */
export function SqlBox() {
  const [sql, setSql] = useState(EXAMPLE);
  const [result, setResult] = useState<QueryResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const run = async () => {
    setRunning(true);
    try {
      setResult(await post<QueryResult>('/api/v1/query', { sql }));
      setError(null);
    } catch (err) {
      setResult(null);
      setError(`The query failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setRunning(false);
    }
  };
  const columns = result?.columns.map((c) => c.name) ?? [];
  return (
    <section>
      <h2>SQL</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <textarea
          name="sql"
          aria-label="SQL query"
          value={sql}
          onInput={(e) => setSql(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault();
              void run();
            }
          }}
        />
        <button type="submit" disabled={running}>
          Run (Ctrl+Enter)
        </button>{' '}
        {result ? (
          <button type="button" onClick={() => download('vigil-query.csv', toCsv(columns, result.rows))}>
            Export CSV
          </button>
        ) : null}
      </form>
      <ErrorBox error={error} />
      {result ? (
        <>
          <p class="muted">
            {result.rows.length} rows
            {result.cut
              ? ` (cut at ${result.cut.limit} ${result.cut.by})`
              : result.rowsTruncated
                ? ' (more not shown)'
                : ''}
          </p>
          <table data-testid="sql-result">
            <thead>
              <tr>
                {result.columns.map((c) => (
                  <th title={c.type}>{c.name}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {result.rows.slice(0, 1000).map((r) => (
                <tr>
                  {columns.map((c) => (
                    <td class="mono">{typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c] ?? '')}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
