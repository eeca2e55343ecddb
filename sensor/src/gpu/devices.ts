import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GPU_DRIVERS } from '@vigil/schema';

export type GpuDriver = (typeof GPU_DRIVERS)[number];

/** The kernel's device number encoding inside the probe (MKDEV): major << 20 | minor. */
export const kdev = (major: number, minor: number): number => major * 2 ** 20 + minor;
export const kdevMajor = (rdev: number): number => Math.floor(rdev / 2 ** 20);
export const kdevMinor = (rdev: number): number => rdev % 2 ** 20;

const RESCAN_MIN_MS = 1000;

/** A major number that cannot exist (majors are 12 bits): stands for an absent driver in the probe. */
export const NO_MAJOR = 4096;

export interface GpuMajors {
  nvidia: number;
  nvidiaUvm: number;
  kfd: number;
  drm: number;
}

/** Character-device majors by driver, from the text of /proc/devices. */
export function parseProcDevices(text: string): GpuMajors {
  const chars = new Map<string, number>();
  let inChar = false;
  for (const line of text.split('\n')) {
    if (/^Character devices:/.test(line)) {
      inChar = true;
      continue;
    }
    if (/^Block devices:/.test(line)) {
      inChar = false;
      continue;
    }
    const m = inChar ? /^\s*(\d+)\s+(\S+)\s*$/.exec(line) : null;
    if (m) chars.set(m[2]!, Number(m[1]));
  }
  return {
    nvidia: chars.get('nvidia-frontend') ?? chars.get('nvidia') ?? NO_MAJOR,
    nvidiaUvm: chars.get('nvidia-uvm') ?? NO_MAJOR,
    kfd: chars.get('kfd') ?? NO_MAJOR,
    drm: chars.get('drm') ?? NO_MAJOR,
  };
}

/**
 * The node a driver creates for a minor, by its own naming (nvidia-modprobe, udev): what an alert
 * names when this host's /dev lacks the node (a sensor in a container, a node made under another
 * name). /dev/nvidiaN is the GPU with minor number N (nvidia-smi's "Minor Number").
 */
export function conventionalPath(driver: GpuDriver, minor: number): string | null {
  switch (driver) {
    case 'nvidia':
      return minor === 255 ? '/dev/nvidiactl' : minor === 254 ? '/dev/nvidia-modeset' : `/dev/nvidia${minor}`;
    case 'nvidia-uvm':
      return minor === 0 ? '/dev/nvidia-uvm' : minor === 1 ? '/dev/nvidia-uvm-tools' : null;
    case 'amdkfd':
      return '/dev/kfd';
    case 'drm':
      return minor >= 128 ? `/dev/dri/renderD${minor}` : `/dev/dri/card${minor}`;
    default:
      return null;
  }
}

export interface GpuDevice {
  path: string;
  driver: GpuDriver;
  major: number;
  minor: number;
}

export interface ExtraGpuDevice {
  path: string;
  driver: GpuDriver;
}

/** Parses a `--gpu-device PATH[=DRIVER]` value. */
export function parseExtraDevice(spec: string): ExtraGpuDevice {
  const eq = spec.lastIndexOf('=');
  const driver = eq > 0 ? spec.slice(eq + 1) : 'nvidia';
  const path = eq > 0 ? spec.slice(0, eq) : spec;
  if (!(GPU_DRIVERS as readonly string[]).includes(driver)) {
    throw new Error(`--gpu-device ${spec}: driver must be one of ${GPU_DRIVERS.join(', ')}`);
  }
  return { path, driver: driver as GpuDriver };
}

/**
 * Maps device numbers seen by the probe to nodes and drivers. Built from /dev at start and consulted
 * again on a miss, since GPU nodes are created lazily (nvidia-uvm appears on first CUDA use).
 */
export class GpuDeviceMap {
  private byRdev = new Map<number, GpuDevice>();
  private lastRescan = -Infinity;
  /** Scans of /dev so far (a miss rescans at most once a second). */
  rescans = 0;

  constructor(
    readonly majors: GpuMajors,
    private readonly extra: ExtraGpuDevice[] = [],
    private readonly devDir = '/dev',
    private readonly now: () => number = () => performance.now(),
  ) {
    this.rescan();
  }

  static fromHost(extra: ExtraGpuDevice[] = []): GpuDeviceMap {
    let text = '';
    try {
      text = readFileSync('/proc/devices', 'utf8');
    } catch {
      /* no procfs: no majors */
    }
    return new GpuDeviceMap(parseProcDevices(text), extra);
  }

  /** Device numbers of the extra nodes, for the probe's arguments (0 = unused slot). */
  extraRdevs(): number[] {
    return this.extra.flatMap((e) => {
      const d = this.statDevice(e.path, e.driver);
      return d ? [kdev(d.major, d.minor)] : [];
    });
  }

  rescan(): void {
    this.rescans++;
    this.lastRescan = this.now();
    const map = new Map<number, GpuDevice>();
    const add = (path: string, driver?: GpuDriver) => {
      const d = this.statDevice(path, driver);
      if (d) map.set(kdev(d.major, d.minor), d);
    };
    const list = (dir: string): string[] => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    };
    for (const name of list(this.devDir)) {
      if (name.startsWith('nvidia') || name === 'kfd') add(join(this.devDir, name));
    }
    for (const name of list(join(this.devDir, 'dri'))) add(join(this.devDir, 'dri', name));
    for (const e of this.extra) add(e.path, e.driver);
    this.byRdev = map;
  }

  driverOfMajor(major: number): GpuDriver {
    if (major === this.majors.nvidia) return 'nvidia';
    if (major === this.majors.nvidiaUvm) return 'nvidia-uvm';
    if (major === this.majors.kfd) return 'amdkfd';
    if (major === this.majors.drm) return 'drm';
    return 'unknown';
  }

  resolve(rdev: number): GpuDevice {
    const known = this.byRdev.get(rdev);
    if (known) return known;
    // A node missing from this /dev (a sensor in a container) would otherwise cost a scan per call.
    if (this.now() - this.lastRescan >= RESCAN_MIN_MS) {
      this.rescan();
      const found = this.byRdev.get(rdev);
      if (found) return found;
    }
    const major = kdevMajor(rdev);
    const minor = kdevMinor(rdev);
    const driver = this.driverOfMajor(major);
    return { path: conventionalPath(driver, minor) ?? `char:${major}:${minor}`, driver, major, minor };
  }

  private statDevice(path: string, driver?: GpuDriver): GpuDevice | null {
    try {
      const st = statSync(path);
      if (!st.isCharacterDevice()) return null;
      const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn);
      const minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
      return { path, driver: driver ?? this.driverOfMajor(major), major, minor };
    } catch {
      return null;
    }
  }
}
