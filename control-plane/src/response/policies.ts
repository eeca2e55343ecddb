import type { Logger } from 'pino';
import { SEVERITIES, type AlertV1, type ResponsePolicy, type VigilConfigV1 } from '@vigil/schema';
import type { ConfigSource } from '../config/source.js';
import { globToRegExp } from '../detect/builtin/gpu.js';
import type { OrderRequest, Responder } from './responder.js';

/** Processes remembered as ordered (per policy); past this the oldest are forgotten. */
const MAX_ORDERED = 50_000;

const matches = (globs: string[] | undefined, value: string | null | undefined): boolean =>
  globs === undefined || (value != null && globs.some((g) => globToRegExp(g).test(value)));

/** Whether a policy takes this alert: severity, rules, hosts and jobs (globs) as vigil.yaml says. */
export function policyTakes(policy: ResponsePolicy, alert: AlertV1): boolean {
  return (
    SEVERITIES.indexOf(alert.severity) >= SEVERITIES.indexOf(policy.minSeverity) &&
    matches(policy.rules, alert.ruleId) &&
    matches(policy.hosts, alert.host) &&
    matches(policy.jobs, alert.proc?.job)
  );
}

export interface PolicyResponderOptions {
  config: ConfigSource;
  responder: Responder;
  /** The incident an alert joined, when the incidents part runs. */
  incidentOf?: (alertId: string) => string | null | Promise<string | null>;
  log: Logger;
}

/**
 * vigil.yaml's response policies applied to each raised alert (after suppression): a policy whose
 * action is kill or kill-tree orders it at once on the alert's process, once per process and policy;
 * `notify` orders nothing (the alert goes out through the outputs). In `dry-run` mode every order is
 * a dry run. Policies are read from the configuration at each alert, so a reload applies at once.
 */
export class PolicyResponder {
  /** Alerts a policy took but could not order, by reason; and those it notified of only. */
  readonly skipped: Record<string, number> = {};
  private readonly ordered = new Set<string>();

  constructor(private readonly o: PolicyResponderOptions) {}

  onAlert(alert: AlertV1): void {
    const cfg: VigilConfigV1 = this.o.config.current();
    for (const policy of cfg.responses.policies) {
      if (!policyTakes(policy, alert)) continue;
      if (policy.action === 'notify') {
        this.skip('notify');
        continue;
      }
      const proc = alert.proc;
      if (!proc) {
        this.skip('no-process');
        continue;
      }
      if (proc.startTs === null) {
        this.skip('no-start-time');
        continue;
      }
      const key = `${policy.name}\u0000${alert.host}\u0000${proc.pid}\u0000${proc.startTs}`;
      if (this.ordered.has(key)) continue;
      this.remember(key);
      const req: OrderRequest = {
        host: alert.host,
        action: policy.action,
        pid: proc.pid,
        startTs: proc.startTs,
        requestedBy: `policy:${policy.name}`,
        reason: `${alert.ruleId}: ${alert.title}`.slice(0, 2000),
        incidentId: null,
        alertId: alert.id,
        dryRun: cfg.responses.mode === 'dry-run',
      };
      void this.send(req);
    }
  }

  private async send(req: OrderRequest): Promise<void> {
    try {
      const incidentId = req.alertId && this.o.incidentOf ? await this.o.incidentOf(req.alertId) : null;
      await this.o.responder.order({ ...req, incidentId });
    } catch (err) {
      this.skip('not-sent');
      this.o.log.warn({ err, 'response.requestedBy': req.requestedBy }, 'response order not sent');
    }
  }

  private skip(why: string): void {
    this.skipped[why] = (this.skipped[why] ?? 0) + 1;
  }

  private remember(key: string): void {
    if (this.ordered.size >= MAX_ORDERED) {
      const oldest = this.ordered.values().next().value;
      if (oldest !== undefined) this.ordered.delete(oldest);
    }
    this.ordered.add(key);
  }
}
