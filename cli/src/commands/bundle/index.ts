import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { VigilCommand } from '../../base-command.js';
import { BUNDLE_VERSION, buildBundle, sharedLibraries, type BundleResult } from '../../services/bundle/build.js';

export default class Bundle extends VigilCommand {
  static override description =
    'Build the sensor bundle: a versioned tarball for linux-x64 with its own Node.js, the sensor, the probes, the pageout helper and a systemd unit.';
  static override enableJsonFlag = true;
  static override flags = {
    out: Flags.string({ description: 'folder to write vigil-sensor-<version>-linux-x64.tar.gz into', default: '.' }),
    'set-version': Flags.string({
      description: "the bundle's version (default: this CLI's), e.g. 0.1.0+build.7 for a local build",
      parse: async (v) => {
        if (!BUNDLE_VERSION.test(v)) throw new Error(`"${v}" is no version: letters, digits and . + _ - only`);
        return v;
      },
    }),
  };

  async run(): Promise<BundleResult & { libraries: string[] }> {
    const { flags } = await this.parse(Bundle);
    const result = await buildBundle(resolve(flags.out), flags['set-version'] ?? this.config.version);
    const libraries = sharedLibraries(process.execPath);
    this.log(`${result.path} (Node.js ${result.node}; the target needs ${libraries.join(', ')} and bpftrace)`);
    return { ...result, libraries };
  }
}
