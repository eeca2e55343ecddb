"""A py-spy stand-in (`py-spy dump --pid PID`): attaches to the trainer with ptrace, reads its
memory through /proc/PID/mem, and detaches, as a sampling profiler does."""
import ctypes
import os
import sys

PTRACE_ATTACH, PTRACE_DETACH = 16, 17
pid = int(sys.argv[sys.argv.index("--pid") + 1])
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(PTRACE_ATTACH, pid, None, None) != 0:
    sys.exit(f"ptrace: {os.strerror(ctypes.get_errno())}")
os.waitpid(pid, 0)
maps = open(f"/proc/{pid}/maps").read().splitlines()
start = int(maps[0].split("-")[0], 16)
with open(f"/proc/{pid}/mem", "rb") as mem:
    mem.seek(start)
    mem.read(64)
libc.ptrace(PTRACE_DETACH, pid, None, None)
print(f"Process {pid}: {len(maps)} mappings, thread 0 (idle)")
