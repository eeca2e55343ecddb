import type { RespondRequest, ResponseRecordV1 } from '@vigil/schema';
import type { Responder } from './responder.js';
import type { ResponseStore } from './store.js';

/** A manual order the control plane cannot send; `status` is the HTTP status the API answers with. */
export class RespondError extends Error {
  override name = 'RespondError';
  constructor(
    message: string,
    readonly status: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * `POST /api/v1/respond`: a person's order. Without a start time, the one the newest stored event of
 * that pid on that host carries is taken (the process the person saw); none stored, it is refused:
 * the sensor must be able to tell a reused pid.
 */
export async function respondManually(
  req: RespondRequest,
  o: { responder: Responder | null; store: ResponseStore },
): Promise<ResponseRecordV1> {
  if (!o.responder) throw new RespondError('response is off: this control plane has no response signing key', 503);
  const startTs = req.startTs ?? (await o.store.startTsOf(req.host, req.pid));
  if (startTs === null)
    throw new RespondError(
      `no event of pid ${req.pid} on host ${req.host} is stored: its start time is unknown (give startTs)`,
      404,
    );
  return o.responder.order({
    host: req.host,
    action: req.action,
    pid: req.pid,
    startTs,
    requestedBy: req.by,
    reason: req.reason,
    incidentId: req.incidentId ?? null,
    alertId: null,
    dryRun: req.dryRun,
  });
}
