/** A user query (`vigil query`, a SQL detection) that did not run or did not finish. */
export class QueryError extends Error {
  override name = 'QueryError';
  constructor(
    message: string,
    readonly refused: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Too many user queries already running or waiting: try again later (HTTP 503). */
export class QueryBusyError extends QueryError {
  override name = 'QueryBusyError';
  constructor(
    readonly pending: number,
    readonly max: number,
  ) {
    super(
      `busy: ${pending} user queries are running or waiting, at most ${max} may; try again when one has finished`,
      false,
    );
  }
}
