import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AlertV1, EventV1 } from '@vigil/schema';
import { alertStory, alertsTable, eventsTable, printable, table } from './render.js';

/** Bidi embeddings, overrides, isolates and marks; zero-width spaces and joiners; the BOM. */
const BIDI = [
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
];
const ZERO_WIDTH = ['\u200b', '\u200c', '\u200d', '\u2060', '\ufeff'];

/** Whether any character a terminal would act on or hide is left in the text. */
const hidden = (s: string) => /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u.test(s.replace(/\n/g, ''));

test('printable shows bidi controls and zero-width characters as escapes', () => {
  for (const c of [...BIDI, ...ZERO_WIDTH]) {
    const out = printable(`a${c}b`);
    assert.equal(out, `a\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}b`, `U+${c.charCodeAt(0).toString(16)}`);
  }
  assert.equal(printable('invoice\u202egnp.exe'), 'invoice\\u202egnp.exe');
  assert.equal(printable('x\u{e0041}y'), 'x\\u{e0041}y', 'a tag character (hidden text)');
  assert.equal(printable('a\u2028b'), 'a\\u2028b', 'a line separator');
  assert.equal(printable('\u001b[2J\n\t\u009b'), '\\x1b[2J\\n\\t\\x9b', 'controls as before');
  assert.equal(printable('train.py --lr 3e-4 ü 日本 🚀'), 'train.py --lr 3e-4 ü 日本 🚀', 'visible text is untouched');
});

const RLO = '\u202e';
const ZWSP = '\u200b';

const proc = {
  pid: 4242,
  ppid: 4000,
  uid: 1000,
  gid: 1000,
  comm: `ba${ZWSP}sh`,
  exe: `/tmp/${RLO}hs.exe`,
  argv: [`/tmp/${RLO}hs.exe`, `--x${ZWSP}`],
  argvTruncated: false,
  cgroupId: 1,
  cgroup: '/',
  containerId: null,
  job: `slurm:${RLO}42`,
  startTs: null,
  ancestry: [{ pid: 4000, comm: `py${RLO}`, exe: '/usr/bin/python3', argv: ['python3', `t${RLO}rain.py`] }],
  ancestryTruncated: false,
};

test('every human rendering of events and alerts escapes them; the objects (what --json prints) stay exact', () => {
  const ev: EventV1 = {
    id: 'e1',
    v: 1,
    host: 'h1',
    ts: '1700000000000000000',
    kind: 'exec',
    proc,
    exec: { filename: proc.exe, argv: proc.argv, argvTruncated: false, ret: 0 },
  };
  const alert: AlertV1 = {
    id: 'a1',
    v: 1,
    ruleId: `custom.${RLO}x`,
    title: `Title ${ZWSP}`,
    severity: 'high',
    mitre: [`T1${RLO}`],
    source: 'typescript',
    author: `me${RLO}`,
    ts: ev.ts,
    lastTs: ev.ts,
    host: 'h1',
    proc,
    evidence: [`e${RLO}1`],
    reason: `reason ${RLO}txt.exe\u2066`,
    count: 2,
  };
  const before = JSON.stringify({ ev, alert });
  for (const [what, text] of [
    ['eventsTable', eventsTable([ev])],
    ['alertsTable', alertsTable([alert])],
    ['alertStory', alertStory(alert)],
    ['table', table(['A'], [[`x${RLO}y`]])],
  ] as const) {
    assert.ok(!hidden(text), `${what} left a hidden character: ${JSON.stringify(text)}`);
    assert.match(text, /\\u202e|\\u200b/, what);
  }
  for (const field of [
    'custom.\\u202ex',
    'Title \\u200b',
    'T1\\u202e',
    'me\\u202e',
    'slurm:\\u202e42',
    'py\\u202e',
    'e\\u202e1',
    '\\u2066',
  ]) {
    assert.ok(alertStory(alert).includes(field), `alertStory escapes ${field}`);
  }
  assert.equal(alertStory(alert).split('\n').length, 7, 'one line per part: nothing in a field starts a line');
  assert.equal(JSON.stringify({ ev, alert }), before, 'rendering leaves the objects as they came');
});

test('the failed lookups of one execvp are failed execs, each row naming its error and the file it tried', () => {
  const lookup = (id: string, filename: string, ret: number): EventV1 => ({
    id,
    v: 1,
    host: 'h1',
    ts: '1700000000000000000',
    kind: 'exec',
    proc: { ...proc, comm: 'bash', job: null, ancestry: [] },
    exec: { filename, argv: ['bash', '-c', 'true'], argvTruncated: false, ret },
  });
  const rows = eventsTable([
    lookup('1', '/usr/local/sbin/bash', -2),
    lookup('2', '/usr/local/bin/bash', -2),
    lookup('3', '/usr/sbin/bash', -13),
    lookup('4', '/usr/bin/bash', 0),
  ])
    .split('\n')
    .slice(1);
  assert.equal(new Set(rows).size, rows.length, 'no two rows alike');
  assert.match(rows[0]!, /\bexec\b.*ENOENT \/usr\/local\/sbin\/bash: bash -c true$/);
  assert.match(rows[1]!, /\bexec\b.*ENOENT \/usr\/local\/bin\/bash: bash -c true$/);
  assert.match(rows[2]!, /\bexec\b.*EACCES \/usr\/sbin\/bash: bash -c true$/);
  assert.match(rows[3]!, /\bexec\b.* {2}bash -c true$/, 'a successful exec shows its argv alone');
  assert.doesNotMatch(rows[3]!, /\/usr\/bin\/bash/);
});
