import type { SensorStatus, StatusReport } from '@vigil/schema';
import { useEffect } from 'preact/hooks';
import { useApi } from '../hooks.js';
import { age, ErrorBox, Time } from '../ui.js';

const MIB = 1024 * 1024;

function Probes({ s }: { s: SensorStatus }) {
  return (
    <ul>
      {s.probes.map((p) => (
        <li>
          <code>{p.name}</code> {p.state}
          {p.restarts ? `, ${p.restarts} restarts` : ''}
          {p.lostEvents ? `, ${p.lostEvents} lost` : ''}
          {p.lastError ? <span class="sev-high"> — {p.lastError}</span> : null}
          {(p.recentBlinds ?? []).map((b) => (
            <div class="muted">
              blind ({b.cause}) <Time ns={b.fromTs} /> – <Time ns={b.toTs} />
            </div>
          ))}
        </li>
      ))}
    </ul>
  );
}

export function Hosts() {
  const status = useApi<StatusReport>('/api/v1/status');
  // Heartbeat ages move by themselves: read them again every few seconds.
  useEffect(() => {
    const t = setInterval(status.reload, 5000);
    return () => clearInterval(t);
  }, [status.reload]);
  const sensors = status.data?.sensors ?? [];
  return (
    <>
      <h1>Hosts</h1>
      <ErrorBox error={status.error} />
      <table data-testid="hosts">
        <thead>
          <tr>
            <th>host</th>
            <th>state</th>
            <th>heartbeat</th>
            <th>version</th>
            <th>CPU</th>
            <th>memory</th>
            <th>dropped</th>
            <th>lost</th>
            <th>probes and blind intervals</th>
          </tr>
        </thead>
        <tbody>
          {sensors.map((s) => (
            <tr data-host={s.host}>
              <td>
                <b>{s.host}</b>
              </td>
              <td class={s.silent || s.stopped ? 'sev-critical' : 'sev-low'}>
                {s.stopped ? 'stopped' : s.silent ? 'silent' : 'up'}
              </td>
              <td title={`received ${new Date(Number(BigInt(s.receivedTs) / 1_000_000n)).toISOString()}`}>
                {age(s.ageSeconds)} ago
              </td>
              <td>{s.sensorVersion}</td>
              <td>{s.cpuCores === undefined ? '—' : `${s.cpuCores.toFixed(2)} cores`}</td>
              <td>
                {s.footprint
                  ? `${Math.round(s.footprint.processRssBytes / MIB)} MiB + probes ${Math.round(s.footprint.probeRssBytes / MIB)} MiB`
                  : '—'}
              </td>
              <td>{s.counters.eventsDropped}</td>
              <td>{s.counters.lostEvents}</td>
              <td>
                <Probes s={s} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {status.data && sensors.length === 0 ? <p class="muted">No sensor has sent a heartbeat yet.</p> : null}
    </>
  );
}
