/**
 * Names for GPU driver ioctls and NVIDIA RM classes (class numbers checked against the class headers
 * of NVIDIA's open kernel modules, e.g. clcbc0.h = 0xCBC0, and UVM numbers against
 * kernel-open/nvidia-uvm/uvm_ioctl.h). Every request and class in the recorded H100 trace
 * (probes/fixtures/gpu-h100.ndjson) is named here; its test fails on a newcomer.
 */
export const NVIDIA_FRONTEND_NR = {
  0x27: 'ALLOC_MEMORY',
  0x28: 'ALLOC_OBJECT',
  0x29: 'FREE',
  0x2a: 'CONTROL',
  0x2b: 'ALLOC',
  0x34: 'DUP_OBJECT',
  0x35: 'SHARE',
  0x39: 'I2C_ACCESS',
  0x41: 'IDLE_CHANNELS',
  0x4a: 'VID_HEAP_CONTROL',
  0x4d: 'ACCESS_REGISTRY',
  0x4e: 'MAP_MEMORY',
  0x4f: 'UNMAP_MEMORY',
  0x52: 'GET_EVENT_DATA',
  0x54: 'ALLOC_CONTEXT_DMA2',
  0x57: 'MAP_MEMORY_DMA',
  0x58: 'UNMAP_MEMORY_DMA',
  0x59: 'BIND_CONTEXT_DMA',
  0x5c: 'EXPORT_OBJECT_TO_FD',
  0x5d: 'IMPORT_OBJECT_FROM_FD',
  0x5e: 'UPDATE_DEVICE_MAPPING_INFO',
  0xc8: 'CARD_INFO',
  0xc9: 'REGISTER_FD',
  0xce: 'ALLOC_OS_EVENT',
  0xcf: 'FREE_OS_EVENT',
  0xd1: 'STATUS_CODE',
  0xd2: 'CHECK_VERSION_STR',
  0xd3: 'IOCTL_XFER_CMD',
  0xd4: 'ATTACH_GPUS_TO_FD',
  0xd5: 'QUERY_DEVICE_INTR',
  0xd6: 'SYS_PARAMS',
  0xd7: 'NUMA_INFO',
  0xd8: 'SET_NUMA_STATUS',
  0xd9: 'EXPORT_TO_DMABUF_FD',
  0xda: 'WAIT_OPEN_COMPLETE',
} as const satisfies Record<number, string>;

/** UVM commands are raw numbers, not _IOC-encoded. */
export const NVIDIA_UVM_CMD = {
  0x30000001: 'INITIALIZE',
  0x30000002: 'DEINITIALIZE',
  1: 'RESERVE_VA',
  2: 'RELEASE_VA',
  23: 'CREATE_RANGE_GROUP',
  24: 'DESTROY_RANGE_GROUP',
  25: 'REGISTER_GPU_VASPACE',
  26: 'UNREGISTER_GPU_VASPACE',
  27: 'REGISTER_CHANNEL',
  28: 'UNREGISTER_CHANNEL',
  29: 'ENABLE_PEER_ACCESS',
  30: 'DISABLE_PEER_ACCESS',
  31: 'SET_RANGE_GROUP',
  33: 'MAP_EXTERNAL_ALLOCATION',
  34: 'FREE',
  35: 'MEM_MAP',
  36: 'DEBUG_ACCESS_MEMORY',
  37: 'REGISTER_GPU',
  38: 'UNREGISTER_GPU',
  39: 'PAGEABLE_MEM_ACCESS',
  40: 'PREVENT_MIGRATION_RANGE_GROUPS',
  41: 'ALLOW_MIGRATION_RANGE_GROUPS',
  42: 'SET_PREFERRED_LOCATION',
  43: 'UNSET_PREFERRED_LOCATION',
  44: 'ENABLE_READ_DUPLICATION',
  45: 'DISABLE_READ_DUPLICATION',
  46: 'SET_ACCESSED_BY',
  47: 'UNSET_ACCESSED_BY',
  51: 'MIGRATE',
  53: 'MIGRATE_RANGE_GROUP',
  56: 'TOOLS_INIT_EVENT_TRACKER',
  62: 'TOOLS_READ_PROCESS_MEMORY',
  63: 'TOOLS_WRITE_PROCESS_MEMORY',
  65: 'MAP_DYNAMIC_PARALLELISM_REGION',
  66: 'UNMAP_EXTERNAL',
  68: 'ALLOC_SEMAPHORE_POOL',
  71: 'POPULATE_PAGEABLE',
  72: 'VALIDATE_VA_RANGE',
  73: 'CREATE_EXTERNAL_RANGE',
  74: 'MAP_EXTERNAL_SPARSE',
  75: 'MM_INITIALIZE',
  78: 'ALLOC_DEVICE_P2P',
  80: 'DISCARD',
} as const satisfies Record<number, string>;

export const AMD_KFD_NR = {
  0x01: 'GET_VERSION',
  0x02: 'CREATE_QUEUE',
  0x03: 'DESTROY_QUEUE',
  0x15: 'ACQUIRE_VM',
  0x16: 'ALLOC_MEMORY_OF_GPU',
  0x17: 'FREE_MEMORY_OF_GPU',
  0x18: 'MAP_MEMORY_TO_GPU',
} as const satisfies Record<number, string>;

/** DRM core ioctls ('d', below 0x40); driver-specific ones start at 0x40. */
export const DRM_NR = {
  0x00: 'VERSION',
  0x0c: 'GET_CAP',
  0x09: 'GEM_CLOSE',
  0x2d: 'PRIME_HANDLE_TO_FD',
  0x2e: 'PRIME_FD_TO_HANDLE',
  0xc0: 'SYNCOBJ_CREATE',
  0xc1: 'SYNCOBJ_DESTROY',
} as const satisfies Record<number, string>;

export type RmClassKind = 'client' | 'device' | 'vaspace' | 'channel-group' | 'channel' | 'compute' | 'other';

export const NVIDIA_RM_CLASS: Record<number, { name: string; kind: RmClassKind }> = {
  0x0000: { name: 'NV01_ROOT', kind: 'client' },
  0x0041: { name: 'NV01_ROOT_CLIENT', kind: 'client' },
  0x0080: { name: 'NV01_DEVICE_0', kind: 'device' },
  0x2080: { name: 'NV20_SUBDEVICE_0', kind: 'device' },
  0x2081: { name: 'NV2081_BINAPI', kind: 'other' },
  0x90e6: { name: 'GF100_SUBDEVICE_MASTER', kind: 'device' },
  0x90f1: { name: 'FERMI_VASPACE_A', kind: 'vaspace' },
  0x003e: { name: 'NV01_MEMORY_SYSTEM', kind: 'other' },
  0x0040: { name: 'NV01_MEMORY_LOCAL_USER', kind: 'other' },
  0x50a0: { name: 'NV50_MEMORY_VIRTUAL', kind: 'other' },
  0x503c: { name: 'NV50_THIRD_PARTY_P2P', kind: 'other' },
  0x0079: { name: 'NV01_EVENT_OS_EVENT', kind: 'other' },
  0x00de: { name: 'RM_USER_SHARED_DATA', kind: 'other' },
  /* A PyTorch job on an H100 allocates one of these too: a debugger object is not, by itself, a debugger. */
  0x83de: { name: 'GT200_DEBUGGER', kind: 'other' },
  0x9067: { name: 'FERMI_CONTEXT_SHARE_A', kind: 'other' },
  0xc639: { name: 'AMPERE_SMC_CONFIG_SESSION', kind: 'other' },
  0xc640: { name: 'AMPERE_SMC_MONITOR_SESSION', kind: 'other' },
  0xc661: { name: 'HOPPER_USERMODE_A', kind: 'other' },
  0xc8b5: { name: 'HOPPER_DMA_COPY_A', kind: 'other' },
  0xcb33: { name: 'NV_CONFIDENTIAL_COMPUTE', kind: 'other' },
  0xa06c: { name: 'KEPLER_CHANNEL_GROUP_A', kind: 'channel-group' },
  0xc36f: { name: 'VOLTA_CHANNEL_GPFIFO_A', kind: 'channel' },
  0xc46f: { name: 'TURING_CHANNEL_GPFIFO_A', kind: 'channel' },
  0xc56f: { name: 'AMPERE_CHANNEL_GPFIFO_A', kind: 'channel' },
  0xc76f: { name: 'AMPERE_CHANNEL_GPFIFO_B', kind: 'channel' },
  0xc86f: { name: 'HOPPER_CHANNEL_GPFIFO_A', kind: 'channel' },
  0xc3c0: { name: 'VOLTA_COMPUTE_A', kind: 'compute' },
  0xc5c0: { name: 'TURING_COMPUTE_A', kind: 'compute' },
  0xc6c0: { name: 'AMPERE_COMPUTE_A', kind: 'compute' },
  0xc7c0: { name: 'AMPERE_COMPUTE_B', kind: 'compute' },
  0xc9c0: { name: 'ADA_COMPUTE_A', kind: 'compute' },
  0xcbc0: { name: 'HOPPER_COMPUTE_A', kind: 'compute' },
  0xcdc0: { name: 'BLACKWELL_COMPUTE_A', kind: 'compute' },
  0xcec0: { name: 'BLACKWELL_COMPUTE_B', kind: 'compute' },
};

const lookup = (table: Record<number, string>, key: number): string | undefined => table[key];

export const ioc = {
  nr: (cmd: number) => cmd & 0xff,
  type: (cmd: number) => (cmd >>> 8) & 0xff,
  size: (cmd: number) => (cmd >>> 16) & 0x3fff,
};

/** The name of a request: "NV_ESC_RM_ALLOC", "UVM_REGISTER_GPU", "KFD_CREATE_QUEUE", "DRM_IOCTL_0x45"… */
export function ioctlName(request: number, inner: number | null): { nr: number; name: string } {
  const type = ioc.type(request);
  if (type === 0x46) {
    const nr = inner !== null ? ioc.nr(inner) : ioc.nr(request);
    const name = lookup(NVIDIA_FRONTEND_NR, nr);
    return {
      nr,
      name: name
        ? `NV_ESC_${name === 'ALLOC' || name === 'CONTROL' || name === 'FREE' ? `RM_${name}` : name}`
        : `NV_ESC_0x${nr.toString(16)}`,
    };
  }
  const uvm = lookup(NVIDIA_UVM_CMD, request);
  if (uvm) return { nr: request, name: `UVM_${uvm}` };
  if (type === 0x4b) {
    const nr = ioc.nr(request);
    return { nr, name: `KFD_${lookup(AMD_KFD_NR, nr) ?? `0x${nr.toString(16)}`}` };
  }
  if (type === 0x64) {
    const nr = ioc.nr(request);
    const core = lookup(DRM_NR, nr);
    return {
      nr,
      name: core ? `DRM_${core}` : nr >= 0x40 ? `DRM_DRIVER_0x${nr.toString(16)}` : `DRM_0x${nr.toString(16)}`,
    };
  }
  if (type === 0x6d) return { nr: ioc.nr(request), name: `NV_MODESET_0x${ioc.nr(request).toString(16)}` };
  return { nr: request, name: `IOCTL_0x${request.toString(16)}` };
}
