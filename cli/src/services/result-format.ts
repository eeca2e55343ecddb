import { printable, table } from './render.js';

/** How `vigil query` prints rows; what a FORMAT clause would have chosen, rendered here instead. */
export const RESULT_FORMATS = ['table', 'csv', 'tsv', 'json'] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

export interface Rows {
  columns: { name: string }[];
  rows: Record<string, unknown>[];
}

/** One value as text: strings as they are, null as nothing, numbers, arrays and maps as JSON. */
const text = (v: unknown): string =>
  v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
const csvField = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** ClickHouse's TabSeparated escaping: backslash, tab and line breaks escaped; NULL as \N. */
const tsvField = (v: unknown): string =>
  v === null || v === undefined
    ? '\\N'
    : text(v).replace(
        /[\\\t\n\r\0\b\f]/g,
        (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', '\b': '\\b', '\f': '\\f' })[c]!,
      );

/**
 * The rows in `format`, header first (csv, tsv), one JSON array of row objects (json), or a table.
 * `terminal`: the output goes to a terminal, so characters that would rewrite it are shown escaped
 * (a table always; csv and tsv only then: piped to a file they stay exact; JSON escapes them itself).
 */
export function renderRows(r: Rows, format: ResultFormat, terminal: boolean): string {
  const names = r.columns.map((c) => c.name);
  const shown = (s: string) => (terminal ? printable(s) : s);
  switch (format) {
    case 'table':
      return table(
        names,
        r.rows.map((row) => names.map((n) => text(row[n]))),
      );
    case 'json':
      return JSON.stringify(
        r.rows.map((row) => Object.fromEntries(names.map((n) => [n, row[n]]))),
        null,
        2,
      );
    case 'csv':
      return [names, ...r.rows.map((row) => names.map((n) => text(row[n])))]
        .map((line) => shown(line.map(csvField).join(',')))
        .join('\n');
    case 'tsv':
      return [names.map(tsvField), ...r.rows.map((row) => names.map((n) => tsvField(row[n])))]
        .map((line) => shown(line.join('\t')))
        .join('\n');
  }
}
