import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh directory under the temp dir for one test, removed when it is done (tests must not litter /tmp). */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vigil-${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
