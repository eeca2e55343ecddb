import type { Logger } from 'pino';
import type { AlertV1, RespondRequest, ResponseRecordV1, Step } from '@vigil/schema';
import { StaticConfig } from '../config/source.js';
import { Responder } from '../response/responder.js';
import { PolicyResponder } from '../response/policies.js';
import { respondManually } from '../response/manual.js';
import { ResponseStore } from '../response/store.js';
import type { ControlPlaneConfig } from './config.js';
import type { Parts } from './parts.js';

/** What the incidents part offers the response part (Parts' `incidents`, when it runs). */
interface IncidentSeams {
  incidentOfAlert(alertId: string): string | null | Promise<string | null>;
  recordResponse(record: ResponseRecordV1): void | Promise<void>;
}

/** What the response step leaves in Parts: the status's figures and the API's manual orders. */
export interface ResponsePart {
  responder: Responder | null;
  policies: PolicyResponder | null;
  respond: (req: RespondRequest) => Promise<ResponseRecordV1>;
}

/**
 * Response (response/): with a signing key, orders go to the sensors, vigil.yaml's policies order on
 * each raised alert, and the API takes manual orders; without one, the API answers that response is off.
 */
export function responseStep(cfg: ControlPlaneConfig, p: Parts, log: Logger): Step {
  return {
    name: 'response',
    start: async () => {
      const store = new ResponseStore(p.ch!.writer, p.ch!.reader);
      const config = cfg.config ?? new StaticConfig();
      const incidents = (): IncidentSeams | null => (p as { incidents?: IncidentSeams | null }).incidents ?? null;
      if (!cfg.responseKey) {
        if (config.current().responses.policies.length > 0)
          log.warn({}, 'response policies are configured but there is no response signing key: none will act');
        p.response = {
          responder: null,
          policies: null,
          respond: (req) => respondManually(req, { responder: null, store }),
        };
        return;
      }
      const responder = new Responder({
        nc: p.nc!,
        key: cfg.responseKey,
        store,
        log: log.child({ component: 'response' }),
        onRecord: (record) => incidents()?.recordResponse(record),
      });
      responder.start();
      const policies = new PolicyResponder({
        config,
        responder,
        incidentOf: (alertId) => incidents()?.incidentOfAlert(alertId) ?? null,
        log,
      });
      const onAlert = (a: AlertV1) => policies.onAlert(a);
      p.alerts!.live.on('alert', onAlert);
      p.response = { responder, policies, respond: (req) => respondManually(req, { responder, store }) };
      return () => {
        p.alerts!.live.off('alert', onAlert);
        responder.stop();
      };
    },
  };
}
