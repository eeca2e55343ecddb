import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncidentDetail, TreeNodeV1 } from '@vigil/schema';
import { incidentText, treeText } from './incidents.js';

const node = (pid: number, ppid: number, argv: string[], involved = true): TreeNodeV1 => ({
  pid,
  ppid,
  startTs: null,
  exe: `/usr/bin/${argv[0]}`,
  argv,
  uid: 1000,
  cwd: null,
  stdio: [],
  exeHash: null,
  involved,
  alerts: [],
});

test('the tree is indented by depth, parents above children, involved processes marked', () => {
  const lines = treeText([
    node(100, 1, ['python3', 'job.py']),
    node(200, 100, ['bash', '-c', 'x']),
    node(300, 200, ['kworkerd']),
    node(210, 100, ['ls'], false),
  ]);
  assert.match(lines[0]!, /^\* 100 \/usr\/bin\/python3: python3 job\.py/);
  assert.match(lines[1]!, /^\* {3}└─ 200 /);
  assert.match(lines[2]!, /^\* {5}└─ 300 /);
  assert.match(lines[3]!, /^ {4}└─ 210 /);
});

test('hostile argv cannot rewrite the terminal: control characters are shown escaped', () => {
  const d: IncidentDetail = {
    incident: {
      id: 'i1',
      v: 1,
      version: 1,
      host: 'h',
      job: null,
      title: 'x\u001b[2J',
      severity: 'high',
      status: 'open',
      firstTs: '1700000000000000000',
      lastTs: '1700000000000000000',
      root: null,
      processes: [],
      alerts: [],
      alertCount: 0,
      rules: [],
      mitre: [],
      statusHistory: [],
      notes: [],
      responses: [],
    },
    alerts: [],
    timeline: [],
    timelineTruncated: false,
    tree: [node(100, 1, ['evil\u001b]0;pwned\u0007', '\u202e'])],
    treeTruncated: false,
  };
  const text = incidentText(d);
  assert.doesNotMatch(text, /[\u001b\u0007\u202e]/);
});
