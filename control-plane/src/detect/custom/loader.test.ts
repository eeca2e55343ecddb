import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DISABLED_LIST, loadDetections } from './loader.js';

const rule = (id: string, image: string) =>
  `title: ${image} run\nid: ${id}\nlogsource:\n  product: linux\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '/${image}'\n  condition: sel\nlevel: high\n`;

function folder() {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-disabled-'));
  writeFileSync(join(dir, 'nohup.yml'), rule('457df417-8b9d-4912-85f3-9dbda39c3645', 'nohup'));
  writeFileSync(join(dir, 'socat.yml'), rule('11111111-2222-3333-4444-555555555555', 'socat'));
  return dir;
}

test("a folder's disabled list leaves its rules out, each reported with the reason on its line", async () => {
  const dir = folder();
  writeFileSync(
    join(dir, DISABLED_LIST),
    '# off by default\n\nsigma.457df417-8b9d-4912-85f3-9dbda39c3645 # nohup with /tmp/ anywhere is nohup python train.py\n',
  );
  const r = await loadDetections([dir]);
  assert.deepEqual(
    r.detections.map((d) => d.detection.id),
    ['sigma.11111111-2222-3333-4444-555555555555'],
  );
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.disabled, [
    {
      id: 'sigma.457df417-8b9d-4912-85f3-9dbda39c3645',
      path: join(dir, 'nohup.yml'),
      why: 'nohup with /tmp/ anywhere is nohup python train.py',
      list: join(dir, DISABLED_LIST),
    },
  ]);
});

test('a rule file named directly loads even when its folder disables it; no list disables nothing', async () => {
  const dir = folder();
  writeFileSync(join(dir, DISABLED_LIST), 'sigma.457df417-8b9d-4912-85f3-9dbda39c3645\n');
  const direct = await loadDetections([join(dir, 'nohup.yml')]);
  assert.deepEqual(
    direct.detections.map((d) => d.detection.id),
    ['sigma.457df417-8b9d-4912-85f3-9dbda39c3645'],
  );
  assert.deepEqual(direct.disabled, []);
  const plain = folder();
  assert.equal((await loadDetections([plain])).detections.length, 2);
});
