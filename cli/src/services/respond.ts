import { userInfo } from 'node:os';
import type { ResponseRecordV1 } from '@vigil/schema';

/** Who orders, as the audit records it: the person behind sudo, else this user. */
export function orderingUser(): string {
  return process.env.SUDO_USER || userInfo().username;
}

/** Whether the order did what was asked (a dry run counts: it was asked to do nothing). */
export const responseSucceeded = (r: ResponseRecordV1): boolean =>
  r.result?.outcome === 'killed' || r.result?.outcome === 'dry-run';

/** One line per record: what was ordered, what the sensor did and why. */
export function responseText(r: ResponseRecordV1): string {
  const { order, result } = r;
  const what = `${order.action} pid ${order.pid} on ${order.host}${order.dryRun ? ' (dry run)' : ''}`;
  if (!result) return `${what}: waiting for an answer (order ${order.id})`;
  const pids = result.pids.length > 0 ? ` [pids ${result.pids.join(' ')}]` : '';
  return `${what}: ${result.outcome}${pids}: ${result.reason} (order ${order.id}, by ${order.requestedBy})`;
}
