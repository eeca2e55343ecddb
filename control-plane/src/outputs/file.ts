import { constants } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import type { FileOutput } from '@vigil/schema';
import { OutputDeliveryError } from './http-post.js';
import type { OutputMessage, Sender } from './message.js';

/**
 * JSON lines (`{"kind","deliveryId","data"}` per line) appended to a file, rotated by size: once a
 * line would take it past maxBytes, path.N-1 becomes path.N … path becomes path.1, and a new path is
 * started; `keep` rotated files are kept (0: the full file is truncated away). Each line is written
 * with one write() and fsync'ed before it counts as sent, so a sent line survives a crash of the
 * host; a crash in the middle of a write can leave a partial last line, which readers skip.
 */
const APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

export class FileSender implements Sender {
  private fh: FileHandle | null = null;
  private size = 0;

  constructor(private readonly cfg: FileOutput) {}

  async send(m: OutputMessage): Promise<void> {
    const line = `${JSON.stringify({ kind: m.kind, deliveryId: m.deliveryId, data: m.data })}\n`;
    const bytes = Buffer.byteLength(line);
    try {
      await this.handle();
      if (this.size > 0 && this.size + bytes > this.cfg.maxBytes) await this.rotate();
      const fh = await this.handle();
      await fh.write(line);
      await fh.sync();
      this.size += bytes;
    } catch (err) {
      // The next attempt opens the file again (it may have been moved or its disk mended).
      await this.close();
      throw new OutputDeliveryError(`file ${this.cfg.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    // Not through a symlink: a file planted where the output writes does not redirect root's writes.
    this.fh = await open(this.cfg.path, APPEND, 0o600);
    this.size = (await this.fh.stat()).size;
    return this.fh;
  }

  private async rotate(): Promise<void> {
    await this.close();
    const { path, keep } = this.cfg;
    for (let i = keep - 1; i >= 1; i--) await rename(`${path}.${i}`, `${path}.${i + 1}`).catch(ignoreMissing);
    if (keep > 0) await rename(path, `${path}.1`);
    else await (await open(path, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW)).close();
  }

  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => {});
  }
}

const ignoreMissing = async (err: NodeJS.ErrnoException): Promise<void> => {
  if (err.code !== 'ENOENT') throw err;
};
