import type { EventV1 } from '@vigil/schema';
import { defineDetection, type DetectionContext } from '../define.js';
import { endpoint, isLoopback, outboundPeers } from './behaviour.js';

const RULE = 'exec.fileless';

/**
 * The process runs a program from a file descriptor: its event says so, or its exec did (and raised
 * this rule: the flag answers without walking its history on every connect and GPU call).
 */
const fileless = (ev: EventV1, ctx: DetectionContext): boolean =>
  ev.proc.fileless === true || ev.proc.exe.startsWith('/memfd:') || ctx.flagged(ev.host, ev.proc.pid).has(RULE);

const named = (ev: EventV1): string =>
  `${ev.proc.memfdName !== undefined ? `memfd:${ev.proc.memfdName}` : ev.proc.exe || ev.proc.comm} (pid ${ev.proc.pid})`;

/**
 * A program run from memory (memfd_create + fexecve, /proc/self/fd/N): nothing on disk to hash or
 * scan, the loaders of in-memory payloads. High on the exec; critical, as a second alert, once the
 * same process connects to a peer off this host or uses the GPU.
 */
export const execFileless = defineDetection({
  id: RULE,
  title: 'Fileless program',
  severity: 'high',
  mitre: ['T1620', 'T1027'],
  on: ['exec', 'connect', 'conn', 'gpu'],
  description: 'An exec of a file descriptor (memfd, /proc/self/fd/N); ranked up when it connects out or uses the GPU.',
  ranks: { min: 'high', max: 'critical', rule: 'critical once it connects to a peer off this host or uses the GPU' },
  match(ev, ctx) {
    if (!fileless(ev, ctx)) return null;
    if (ev.kind === 'exec')
      return { reason: `fileless exec: ${named(ev)} runs from a file descriptor, not a file (${ev.exec.filename})` };
    if (ev.kind === 'gpu')
      return {
        reason: `fileless program ${named(ev)} uses the GPU: ${ev.gpu.name}${ev.gpu.rmClassName ? ` (${ev.gpu.rmClassName})` : ''} on ${ev.gpu.device}`,
        severity: 'critical',
        subject: 'gpu',
      };
    if (ev.kind === 'conn' && !(ev.conn.event === 'established' && ev.conn.direction === 'out')) return null;
    const peer = outboundPeers([ev])[0];
    if (!peer || isLoopback(peer.addr)) return null;
    return {
      reason: `fileless program ${named(ev)} connected to ${endpoint(peer)}`,
      severity: 'critical',
      subject: 'connected',
    };
  },
});
