"""The NVIDIA-shaped ioctls of test/support/nv-ioctl.c (a CUDA context start: root client, control,
channel, compute), issued by the Python interpreter itself on a device node.
usage: python gpu_ioctl.py PATH [REPEATS]"""
import ctypes
import fcntl
import os
import struct
import sys

IOC_RW = 3


def nv_ioctl(nr, size):
    return (IOC_RW << 30) | (size << 16) | (ord("F") << 8) | nr


def nvos21(h_root, parent, new, cls):
    return bytearray(struct.pack("<IIIIQII", h_root, parent, new, cls, 0, 0, 0))


def run(path, repeats):
    fd = os.open(path, os.O_RDWR)
    for _ in range(repeats):
        for req, buf in (
            (nv_ioctl(0x2B, 32), nvos21(0, 0, 0xCAF00001, 0x0041)),
            (nv_ioctl(0x2A, 32), bytearray(struct.pack("<IIIIQII", 0xCAF00001, 0xCAF00001, 0x20800110, 0, 0, 0, 0))),
            (nv_ioctl(0x2B, 32), nvos21(0xCAF00001, 0xCAF00002, 0xCAF00003, 0xC86F)),
        ):
            try:
                fcntl.ioctl(fd, req, buf)
            except OSError:
                pass
        compute = nvos21(0xCAF00001, 0xCAF00003, 0xCAF00004, 0xCBC0)
        # nv_ioctl_xfer_t points at the compute struct: the kernel side reads it from this address.
        cbuf = ctypes.create_string_buffer(bytes(compute))
        xfer = bytearray(struct.pack("<IIQ", nv_ioctl(0x2B, 32), 32, ctypes.addressof(cbuf)))
        try:
            fcntl.ioctl(fd, nv_ioctl(0xD3, 16), xfer)
        except OSError:
            pass
    os.close(fd)


if __name__ == "__main__":
    run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
