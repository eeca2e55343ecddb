import { EventEmitter } from 'node:events';
import { watch as watchDir, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { VigilConfigV1 } from '@vigil/schema';
import type { ConfigSource, ConfigStatus } from './source.js';
import { ConfigFileError, parseConfigText } from './parse.js';

/** Editors write a file in several steps (truncate, write, rename): one reload after they settle. */
const RELOAD_DEBOUNCE_MS = 200;

async function readConfig(file: string): Promise<{ text: string; config: VigilConfigV1 }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, [{ path: '', line: null, rule: (err as Error).message }], { cause: err });
  }
  return { text, config: parseConfigText(text, file) };
}

/**
 * vigil.yaml as a ConfigSource: validated at load (an invalid file is an error before anything
 * starts), reloaded when the file changes (its folder is watched, so a file replaced by rename is
 * seen) or on reload(). A reload that fails keeps the version in force and tells why in status()
 * (logged once per distinct problem).
 */
export class FileConfig extends EventEmitter implements ConfigSource {
  private reloads = 0;
  private lastError: string | null = null;
  private loadedTs: string;
  /** The text last read, valid or not: a change event that changed nothing reloads nothing. */
  private lastText: string;
  private reloading: Promise<void> | null = null;
  private again = false;

  private constructor(
    readonly path: string,
    private value: VigilConfigV1,
    text: string,
    private readonly log: Logger,
  ) {
    super();
    this.lastText = text;
    this.loadedTs = new Date().toISOString();
  }

  /** Reads and validates the file; throws ConfigFileError naming the file, the path inside it and the rule. */
  static async load(file: string, log: Logger): Promise<FileConfig> {
    const path = resolve(file);
    const { text, config } = await readConfig(path);
    log.info({ 'config.path': path }, 'configuration loaded');
    return new FileConfig(path, config, text, log);
  }

  current(): VigilConfigV1 {
    return this.value;
  }

  status(): ConfigStatus {
    return { path: this.path, loadedTs: this.loadedTs, reloads: this.reloads, lastError: this.lastError };
  }

  /** Reads the file again; one at a time (a change during a reload reloads once more after it). */
  reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again);
    })().finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    let next: { text: string; config: VigilConfigV1 };
    try {
      next = await readConfig(this.path);
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError)
        this.log.error({ 'config.path': this.path, err }, 'configuration not reloaded; the previous one stays');
      this.lastError = message;
      this.lastText = '';
      return;
    }
    if (next.text === this.lastText && this.lastError === null) return;
    const previous = this.value;
    this.value = next.config;
    this.lastText = next.text;
    this.lastError = null;
    this.loadedTs = new Date().toISOString();
    this.reloads++;
    this.log.info({ 'config.path': this.path, 'config.reloads': this.reloads }, 'configuration reloaded');
    this.emit('change', next.config, previous);
  }

  watch(): () => void {
    const name = basename(this.path);
    let timer: NodeJS.Timeout | null = null;
    let watcher: FSWatcher | null = null;
    try {
      watcher = watchDir(dirname(this.path), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = null;
          void this.reload();
        }, RELOAD_DEBOUNCE_MS);
      });
      watcher.on('error', (err) => this.log.warn({ err, 'config.path': this.path }, 'configuration no longer watched'));
    } catch (err) {
      this.log.warn({ err, 'config.path': this.path }, 'configuration not watched (reloaded on SIGHUP only)');
    }
    return () => {
      if (timer) clearTimeout(timer);
      watcher?.close();
    };
  }
}
