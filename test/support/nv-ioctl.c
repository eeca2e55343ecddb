/*
 * nv-ioctl: issues NVIDIA-shaped ioctls (real NVOS21 / NVOS54 / XFER structs) on a device node, as
 * a CUDA context start would, so the GPU probe and decoder can be tested without a GPU.
 * usage: nv-ioctl PATH [REPEATS] [DELAY_MS]
 * DELAY_MS: wait that long before the calls and again before exiting, so they come in the middle of
 * a process's life, far from its exec and its exit.
 * The node need not be an NVIDIA device: the ioctls fail (ENOTTY) but the syscalls are traced.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

typedef struct { uint32_t hRoot, hObjectParent, hObjectNew, hClass; uint64_t pAllocParms; uint32_t paramsSize, status; } NVOS21;
typedef struct { uint32_t hClient, hObject, cmd, flags; uint64_t params; uint32_t paramsSize, status; } NVOS54;
typedef struct { uint32_t cmd, size; uint64_t ptr; } nv_ioctl_xfer_t;

#define NV_IOCTL(nr, size) _IOC(_IOC_READ | _IOC_WRITE, 'F', (nr), (size))

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: nv-ioctl PATH [REPEATS] [DELAY_MS]\n"); return 2; }
  int repeats = argc > 2 ? atoi(argv[2]) : 1;
  useconds_t delay = argc > 3 ? (useconds_t)atoi(argv[3]) * 1000 : 0;
  usleep(delay);
  int fd = open(argv[1], O_RDWR);
  if (fd < 0) { perror(argv[1]); return 1; }
  for (int i = 0; i < repeats; i++) {
    NVOS21 root = { 0, 0, 0xcaf00001, 0x0041, 0, 0, 0 };            /* NV01_ROOT_CLIENT */
    ioctl(fd, NV_IOCTL(0x2b, sizeof root), &root);
    NVOS54 ctl = { 0xcaf00001, 0xcaf00001, 0x20800110, 0, 0, 0, 0 }; /* RM_CONTROL */
    ioctl(fd, NV_IOCTL(0x2a, sizeof ctl), &ctl);
    NVOS21 chan = { 0xcaf00001, 0xcaf00002, 0xcaf00003, 0xc86f, 0, 0, 0 }; /* HOPPER_CHANNEL_GPFIFO_A */
    ioctl(fd, NV_IOCTL(0x2b, sizeof chan), &chan);
    NVOS21 compute = { 0xcaf00001, 0xcaf00003, 0xcaf00004, 0xcbc0, 0, 0, 0 }; /* HOPPER_COMPUTE_A */
    nv_ioctl_xfer_t xfer = { NV_IOCTL(0x2b, sizeof compute), sizeof compute, (uint64_t)(uintptr_t)&compute };
    ioctl(fd, NV_IOCTL(0xd3, sizeof xfer), &xfer);
  }
  close(fd);
  usleep(delay);
  return 0;
}
