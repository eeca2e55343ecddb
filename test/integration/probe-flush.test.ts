/**
 * exec.bt and proc.bt buffer in kernel maps between flushes. On the live kernel: what is buffered
 * when bpftrace is stopped still comes out, and when a map is full the missing entries are counted,
 * never silently gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DEFAULT_PROBES_DIR, PROBES, BatchCollector, parseBpftraceLine } from '@vigil/sensor';

type Flushed = { records: { type: string; pid?: number; argv?: string[]; filename?: string }[]; lost: number; rejects: number };

/** Runs one buffering probe alone, with a flush interval longer than the test, around `work`. */
async function runProbe(name: 'exec' | 'proc', env: Record<string, string>, work: () => void): Promise<Flushed> {
  const spec = PROBES[name];
  const child = spawn('bpftrace', ['-f', 'json', join(DEFAULT_PROBES_DIR, spec.script), '600000'], {
    env: { ...process.env, ...spec.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const out: Flushed = { records: [], lost: 0, rejects: 0 };
  const batch = new BatchCollector();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => { ready = r; });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    const l = parseBpftraceLine(line);
    if (l.type === 'map') for (const [n, m] of Object.entries(l.data as Record<string, unknown>)) batch.push(n, m as Record<string, unknown>);
    else if (l.type === 'value' && (l.data as number[])[0] === 0) ready();
    else if (l.type === 'value' && (l.data as number[])[0] === spec.batch.flushType) {
      const res = spec.batch.decode(batch.end());
      out.records.push(...res.records);
      out.lost += res.lost;
      out.rejects += res.rejects;
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await Promise.race([isReady, exited.then(() => { throw new Error(`bpftrace exited: ${stderr}`); })]);
  work();
  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  return out;
}

test('exec.bt: execs still buffered when bpftrace stops are printed on the way out', { timeout: 60_000 }, async () => {
  const marker = `vigil-flush-${process.pid}`;
  const res = await runProbe('exec', {}, () => {
    for (let i = 0; i < 3; i++) execFileSync('/bin/echo', [marker, String(i)]);
  });
  const mine = res.records.filter((r) => r.argv?.[1] === marker);
  assert.deepEqual(mine.map((r) => r.argv?.[2]).sort(), ['0', '1', '2'], 'no periodic flush ran: these came from END');
  for (const r of mine) assert.equal(r.filename, '/bin/echo');
  assert.equal(res.lost, 0);
  assert.equal(res.rejects, 0);
});

test('exec.bt and proc.bt: a full map loses entries, and every lost one is counted', { timeout: 60_000 }, async () => {
  const keys = 8;
  const runs = 40;
  const execs = await runProbe('exec', { BPFTRACE_MAP_KEYS_MAX: String(keys) }, () => {
    for (let i = 0; i < runs; i++) execFileSync('/bin/true', ['a', 'b']);
  });
  const heads = execs.records.length;
  assert.ok(heads <= keys, `at most ${keys} execs fit, got ${heads}`);
  // Each exec writes a head (with its path) and its arguments; at most `keys` heads and `keys`
  // arguments fit. Every exec whose head did not fit counts once, and so does every argument a
  // received head misses.
  const argvSlots = execs.records.reduce((n, r) => n + (r.argv?.length ?? 0), 0);
  assert.ok(execs.lost >= (runs - heads) + Math.max(0, argvSlots - keys), `lost entries counted: ${execs.lost}`);

  const procs = await runProbe('proc', { BPFTRACE_MAP_KEYS_MAX: String(keys) }, () => {
    for (let i = 0; i < runs; i++) execFileSync('/bin/true');
  });
  const forks = procs.records.filter((r) => r.type === 'proc.fork').length;
  const exits = procs.records.filter((r) => r.type === 'proc.exit').length;
  assert.ok(forks <= keys && exits <= keys);
  assert.ok(procs.lost >= 2 * runs - forks - exits, `every fork and exit beyond the map is counted: ${procs.lost}`);
});
