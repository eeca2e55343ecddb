import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcDevices, NO_MAJOR, kdev, kdevMajor, kdevMinor, parseExtraDevice, GpuDeviceMap } from './devices.js';
import { ioctlName } from './ioctl-names.js';
import { scratchDir } from '../testing/scratch-dir.js';

const PROC_DEVICES = `Character devices:
  1 mem
  4 tty
195 nvidia-frontend
226 drm
235 kfd
508 nvidia-uvm
510 nvidia-caps

Block devices:
  8 sd
195 notachar
`;

test('GPU majors come from /proc/devices (character devices only)', () => {
  assert.deepEqual(parseProcDevices(PROC_DEVICES), { nvidia: 195, nvidiaUvm: 508, kfd: 235, drm: 226 });
  assert.deepEqual(parseProcDevices('Character devices:\n  1 mem\n'), {
    nvidia: NO_MAJOR,
    nvidiaUvm: NO_MAJOR,
    kfd: NO_MAJOR,
    drm: NO_MAJOR,
  });
});

test('kernel device numbers round-trip', () => {
  const d = kdev(195, 255);
  assert.equal(kdevMajor(d), 195);
  assert.equal(kdevMinor(d), 255);
});

test('ioctl names for NVIDIA frontend, UVM, KFD and DRM requests', () => {
  const nv = (nr: number, size: number) => ((3 << 30) | (size << 16) | (0x46 << 8) | nr) >>> 0;
  assert.equal(ioctlName(nv(0x2b, 32), null).name, 'NV_ESC_RM_ALLOC');
  assert.equal(ioctlName(nv(0xd3, 16), nv(0x2a, 32)).name, 'NV_ESC_RM_CONTROL');
  assert.equal(ioctlName(nv(0xc8, 8), null).name, 'NV_ESC_CARD_INFO');
  assert.equal(ioctlName(0x30000001, null).name, 'UVM_INITIALIZE');
  assert.equal(ioctlName(62, null).name, 'UVM_TOOLS_READ_PROCESS_MEMORY');
  assert.equal(ioctlName(((3 << 30) | (0x4b << 8) | 0x02) >>> 0, null).name, 'KFD_CREATE_QUEUE');
  assert.equal(ioctlName(((3 << 30) | (0x64 << 8) | 0x45) >>> 0, null).name, 'DRM_DRIVER_0x45');
});

test('--gpu-device values: path with an optional driver', () => {
  assert.deepEqual(parseExtraDevice('/tmp/x'), { path: '/tmp/x', driver: 'nvidia' });
  assert.deepEqual(parseExtraDevice('/tmp/x=amdkfd'), { path: '/tmp/x', driver: 'amdkfd' });
  assert.throws(() => parseExtraDevice('/tmp/x=voodoo'), /driver must be one of/);
});

test('a device missing from /dev is named as its driver names it; an unknown major stays a number', () => {
  const map = new GpuDeviceMap({ nvidia: 195, nvidiaUvm: 238, kfd: 235, drm: 226 }, [], scratchDir('nodev'));
  const path = (major: number, minor: number) => map.resolve(kdev(major, minor)).path;
  assert.equal(path(195, 255), '/dev/nvidiactl');
  assert.equal(path(195, 254), '/dev/nvidia-modeset');
  assert.equal(path(195, 3), '/dev/nvidia3');
  assert.equal(path(238, 0), '/dev/nvidia-uvm');
  assert.equal(path(238, 1), '/dev/nvidia-uvm-tools');
  assert.equal(path(238, 7), 'char:238:7');
  assert.equal(path(235, 0), '/dev/kfd');
  assert.equal(path(226, 129), '/dev/dri/renderD129');
  assert.equal(path(99, 1), 'char:99:1');
  assert.equal(map.resolve(kdev(195, 3)).driver, 'nvidia');
});

test('a miss rescans /dev at most once a second: a node absent from this /dev does not cost a scan per call', () => {
  let t = 0;
  const map = new GpuDeviceMap(
    { nvidia: 195, nvidiaUvm: 238, kfd: NO_MAJOR, drm: NO_MAJOR },
    [],
    scratchDir('nodev'),
    () => t,
  );
  assert.equal(map.rescans, 1, 'the scan at start');
  t = 5_000;
  for (let i = 0; i < 1000; i++) map.resolve(kdev(195, 0));
  assert.equal(map.rescans, 2);
  t = 5_999;
  map.resolve(kdev(195, 0));
  assert.equal(map.rescans, 2);
  t = 6_000;
  map.resolve(kdev(195, 0));
  assert.equal(map.rescans, 3);
});
