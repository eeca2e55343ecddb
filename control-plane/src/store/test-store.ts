import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStorageClients, type StorageClients } from './client.js';
import { migrate } from './migrations.js';

/**
 * A fresh embedded store (the real engine, chDB) for the tests of one file: created and migrated
 * before them, closed and removed after. Call at the top of the file; the getter works inside tests.
 */
export function testStore(prefix: string): () => StorageClients {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let ch: StorageClients | null = null;
  before(async () => {
    ch = createStorageClients({ kind: 'embedded', dataDir: dir });
    await migrate(ch.writer);
  });
  after(async () => {
    await ch?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    if (!ch) throw new Error('testStore: the store exists from the first test on');
    return ch;
  };
}
