import type { AlertV1, IncidentV1 } from '@vigil/schema';
import { proc } from '../detect/testing.js';
import type { OutputMessage } from './message.js';

/** An alert message as an output reads it, for the outputs' unit tests. */
export function alertMessage(over: Partial<AlertV1> = {}): OutputMessage & { kind: 'alert' } {
  const data: AlertV1 = {
    id: 'a-1',
    v: 1,
    ruleId: 'miner.exec',
    title: 'Crypto miner started',
    severity: 'critical',
    mitre: [],
    source: 'builtin',
    author: null,
    ts: '1796567552029126756',
    lastTs: '1796567552029126756',
    host: 'gpu-1',
    proc: proc({ job: 'slurm-7' }),
    evidence: [],
    reason: 'stratum+tcp pool in argv',
    count: 1,
    ...over,
  };
  return { kind: 'alert', data, deliveryId: `alert-${data.id}-${data.count}` };
}

/** An incident message as an output reads it. */
export function incidentMessage(over: Partial<IncidentV1> = {}): OutputMessage & { kind: 'incident' } {
  const data: IncidentV1 = {
    id: 'inc-1',
    v: 1,
    version: 1,
    host: 'gpu-1',
    job: null,
    title: 'python → bash → xmrig',
    severity: 'high',
    status: 'open',
    firstTs: '1',
    lastTs: '1',
    root: null,
    processes: [],
    alerts: [],
    alertCount: 1,
    rules: ['miner.exec', 'shell.reverse'],
    mitre: [],
    statusHistory: [],
    notes: [],
    responses: [],
    ...over,
  };
  return { kind: 'incident', data, deliveryId: `incident-${data.id}-v${data.version}` };
}
