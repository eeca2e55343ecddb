import { ApiCommand } from '../../base-command.js';
import { fetchStatus } from '../../services/api-client.js';

export interface VersionReport {
  cli: string;
  node: string;
  platform: string;
  /** The control plane's version and address; null when it cannot be asked (why in `reason`). */
  controlPlane: { version: string; api: string } | null;
  reason?: string;
}

export default class Version extends ApiCommand<typeof Version> {
  static override description = 'Show the versions of the CLI, Node.js, and the control plane (when its API answers).';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> version', '<%= config.bin %> version --json'];

  async run(): Promise<VersionReport> {
    const api = this.api();
    const report: VersionReport = {
      cli: this.config.version,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      controlPlane: null,
    };
    try {
      report.controlPlane = { version: (await fetchStatus(api)).controlPlane.version, api: api.url };
    } catch (err) {
      // The CLI's own versions are worth showing without a control plane: not an error.
      report.reason = (err as Error).message;
    }
    if (!this.jsonEnabled()) {
      this.log(`vigil CLI ${report.cli}, Node.js ${report.node} (${report.platform})`);
      this.log(
        report.controlPlane
          ? `control plane ${report.controlPlane.version} at ${report.controlPlane.api}`
          : `control plane: unknown (${report.reason})`,
      );
    }
    return report;
  }
}
