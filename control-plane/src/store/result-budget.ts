import type { QueryResult } from '@vigil/schema';

/**
 * A user query's result read as it streams, kept within a number of rows and of bytes: the rows past
 * either bound are never decoded, and reading stops there (which cancels the query). Collecting the
 * whole output first and parsing it as one document copied a large result several times over,
 * outside the memory limit the engine holds the query to.
 */

/** The output format read here: a line of column names, a line of types, then one JSON array per row. */
export const RESULT_FORMAT = 'JSONCompactEachRowWithNamesAndTypes';

/** The API's query result (QueryResult in @vigil/schema): the rows, and whether and where they were cut. */
export type BudgetedResult = QueryResult;

export class ResultFormatError extends Error {
  override name = 'ResultFormatError';
}

const NEWLINE = 0x0a;

/**
 * Reads rows from `chunks` (RESULT_FORMAT) until the stream ends or a bound is reached. Header lines
 * count against the byte budget too. JSON escapes line breaks inside values, so every newline byte
 * ends a line. `headerEachChunk`: each chunk is a whole document with its own header lines (chDB's
 * stream, one per block), which are read once.
 */
export async function readBudgeted(
  chunks: AsyncIterable<Uint8Array>,
  maxRows: number,
  maxBytes: number,
  headerEachChunk = false,
): Promise<BudgetedResult> {
  const header: unknown[][] = [];
  const data: unknown[][] = [];
  let used = 0;
  let cut: BudgetedResult['cut'] = null;
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let repeatedHeader = 0;

  /** false: stop reading. */
  const take = (line: Buffer): boolean => {
    if (line.length === 0) return true;
    if (repeatedHeader > 0) {
      repeatedHeader--;
      return true;
    }
    if (header.length === 2 && data.length >= maxRows) {
      cut = { by: 'rows', limit: maxRows };
      return false;
    }
    if (used + line.length > maxBytes) {
      cut = { by: 'bytes', limit: maxBytes };
      return false;
    }
    used += line.length;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.toString('utf8'));
    } catch (cause) {
      throw new ResultFormatError('the result is not one JSON array a line (leave FORMAT out of the query)', { cause });
    }
    if (!Array.isArray(parsed))
      throw new ResultFormatError('the result is not one JSON array a line (leave FORMAT out of the query)');
    (header.length < 2 ? header : data).push(parsed);
    return true;
  };

  read: for await (const chunk of chunks) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (headerEachChunk && header.length === 2) repeatedHeader = 2;
    for (let nl = buf.indexOf(NEWLINE, start); nl !== -1; nl = buf.indexOf(NEWLINE, start)) {
      const piece = buf.subarray(start, nl);
      const line = partialBytes > 0 ? Buffer.concat([...partial, piece]) : piece;
      partial = [];
      partialBytes = 0;
      start = nl + 1;
      if (!take(line)) break read;
    }
    if (start < buf.length) {
      // A line still open: held (copied, the chunk is not ours to keep) only while it fits the budget.
      partial.push(Buffer.from(buf.subarray(start)));
      partialBytes += buf.length - start;
      if (used + partialBytes > maxBytes) {
        if (header.length === 2 && data.length >= maxRows) cut = { by: 'rows', limit: maxRows };
        else cut = { by: 'bytes', limit: maxBytes };
        break;
      }
    }
  }
  if (!cut && partialBytes > 0) take(Buffer.concat(partial));

  const names = (header[0] ?? []) as string[];
  const types = (header[1] ?? []) as string[];
  const columns = names.map((name, i) => ({ name: String(name), type: String(types[i] ?? '') }));
  return {
    columns,
    rows: data.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]]))),
    rowsTruncated: cut !== null,
    cut,
  };
}
