/**
 * Once bpftrace has attached, the sensor hands its compiler's resident pages (libLLVM, libclang)
 * back to the kernel, and the probes go on tracing. Real bpftrace on the live kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { pino } from 'pino';
import { startSensor } from '@vigil/sensor';
import { freePort, waitFor } from '../support/harness.js';

/** Resident kB of a process's mappings whose path matches `re`, from /proc/PID/smaps. */
function residentKb(pid: number, re: RegExp): number {
  let kb = 0;
  let inside = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inside = re.test(line);
    else if (inside && line.startsWith('Rss:')) kb += Number(line.split(/\s+/)[1]);
  }
  return kb;
}

test('after attaching, bpftrace keeps (almost) none of its compiler resident, and still traces', {
  timeout: 120_000,
}, async () => {
  // Pages another process maps stay resident (MADV_PAGEOUT leaves shared pages): a bpftrace still
  // stopping from an earlier test would hold most of the compiler's text. Nothing else may run one.
  await waitFor('no other bpftrace running', () => spawnSync('pgrep', ['-x', 'bpftrace']).status === 1, 60_000, 250);
  const sensor = await startSensor({
    nats: { servers: `nats://127.0.0.1:${await freePort()}`, reconnect: false },
    probes: ['exec'],
    log: pino({ level: 'silent' }),
  });
  try {
    const pid = sensor.probes.get('exec')!.pid!;
    const hb = await waitFor(
      'compiler pages released',
      () => {
        const h = sensor.heartbeat();
        return (h.footprint?.compilerRssReleasedBytes ?? 0) > 0 && h;
      },
      30_000,
    );
    // bpftrace 0.17 leaves about 70 MiB of compiler text resident after its compile.
    assert.ok(
      hb.footprint!.compilerRssReleasedBytes > 32 * 1024 * 1024,
      `released ${hb.footprint!.compilerRssReleasedBytes} bytes`,
    );
    const text = residentKb(pid, / r-xp .*\/lib(LLVM|clang)/);
    assert.ok(text < 8 * 1024, `compiler text still resident: ${text} kB`);
    assert.ok(hb.footprint!.probeRssBytes > 0 && hb.footprint!.processRssBytes > 0);

    const before = sensor.counters.eventsBuilt;
    for (let i = 0; i < 5; i++) execFileSync('/bin/true', [`vigil-after-pageout-${i}`]);
    await waitFor('execs after the release are still traced', () => sensor.counters.eventsBuilt >= before + 5, 15_000);
  } finally {
    await sensor.stop();
  }
});
