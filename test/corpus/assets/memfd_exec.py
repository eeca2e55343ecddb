"""Fileless execution: copies a binary into an anonymous memfd and execs it from /proc/self/fd.
usage: python memfd_exec.py BINARY [ARGS...]"""
import os
import sys

fd = os.memfd_create("kworker", 0)
with open(sys.argv[1], "rb") as f:
    os.write(fd, f.read())
os.execv(f"/proc/self/fd/{fd}", ["kworker", *sys.argv[2:]])
