import type { Logger } from 'pino';
import { CONFIG_ENV } from '@vigil/schema';
// Types only: chDB stays out of commands that only read this module (see services/detections.ts).
import type { ConfigSource } from '@vigil/control-plane';

/** The configuration file to use: --config, else $VIGIL_CONFIG, else none. */
export const configPath = (flag: string | undefined): string | undefined =>
  flag ?? (process.env[CONFIG_ENV] || undefined);

/**
 * vigil.yaml loaded and validated before anything starts (an invalid file throws ConfigFileError,
 * naming the file, the path inside it and the rule); reloaded on change and on SIGHUP.
 */
export async function loadConfigFile(path: string | undefined, log: Logger): Promise<ConfigSource | undefined> {
  if (path === undefined) return undefined;
  const { FileConfig } = await import('@vigil/control-plane');
  const config = await FileConfig.load(path, log);
  process.on('SIGHUP', () => void config.reload());
  return config;
}
