/**
 * The real sensor's output on an H100 (test/fixtures/sensor-h100.events.ndjson, recorded with
 * scripts/record-sensor-trace.mjs): a training job ran the image's python from a shell, then the
 * same interpreter, copied to /tmp/.cache, made CUDA calls from another shell. Every event must meet
 * the v1 contract, the job must raise nothing, and the hijack must raise one alert telling the story:
 * which binary, which shell, which GPU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EventV1 } from '@vigil/schema';
import { builtinEngine } from '../testing.js';

const EVENTS = readFileSync(
  fileURLToPath(new URL('../../../../test/fixtures/sensor-h100.events.ndjson', import.meta.url)),
  'utf8',
)
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as unknown);

test('H100 sensor trace: every event the sensor published meets the v1 contract', () => {
  assert.ok(EVENTS.length > 100);
  for (const e of EVENTS) assert.ok(EventV1.safeParse(e).success, JSON.stringify(e).slice(0, 300));
});

test('H100 sensor trace: the job is quiet; the hijacked interpreter raises gpu.unexpected-process with binary, shell and GPU', () => {
  const events = EVENTS.map((e) => EventV1.parse(e));
  const execs = events.filter((e) => e.kind === 'exec' && e.exec.argv.some((a) => a.endsWith('/scripts/cuda-job.py')));
  const job = execs.find((e) => e.proc.exe === '/usr/bin/python3.12')!;
  const hijack = execs.find((e) => e.proc.exe === '/tmp/.cache/python3')!;
  assert.ok(job && hijack, 'both interpreters are in the trace');
  assert.ok(
    events.some((e) => e.kind === 'gpu' && e.proc.pid === job.proc.pid && e.gpu.rmClassName === 'HOPPER_COMPUTE_A'),
    'the job did start compute',
  );

  const { engine, alerts } = builtinEngine();
  engine.process(events);
  assert.deepEqual(
    alerts.map((a) => `${a.ruleId} ${a.proc?.pid}`),
    [`gpu.unexpected-process ${hijack.proc.pid}`],
  );
  const [alert] = alerts;
  assert.equal(alert!.severity, 'critical');
  assert.match(
    alert!.reason,
    new RegExp(
      `^/tmp/\\.cache/python3 \\(pid ${hijack.proc.pid}\\) allocated \\w+ on /dev/nvidiactl: GPU /dev/nvidia0; it runs from a writable place`,
    ),
  );
  const shell = alert!.proc!.ancestry[0]!;
  assert.equal(shell.comm, 'bash');
  // The shell that planted it, with its command line (each argument is cut at the probe's 200 bytes).
  assert.deepEqual(shell.argv.slice(0, 2), ['bash', '-c']);
  assert.match(shell.argv[2]!, /^set -e; REAL=\$\(python3 -c /);
});
