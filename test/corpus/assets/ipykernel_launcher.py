"""A Jupyter kernel stand-in (python -m ipykernel_launcher -f kernel.json): it binds its loopback
channels (shell, iopub, control, hb) the way a zmq kernel does, a notebook client connects to them,
and a terminal cell runs /bin/bash on a pty made with pty.fork."""
import json
import os
import pty
import socket
import sys
import time

conf = sys.argv[sys.argv.index("-f") + 1]
channels = {}
for name in ("shell", "iopub", "control", "hb"):
    s = socket.create_server(("127.0.0.1", 0))
    channels[name] = s
json.dump({k: v.getsockname()[1] for k, v in channels.items()} | {"ip": "127.0.0.1", "transport": "tcp"}, open(conf, "w"))

if os.fork() == 0:  # the notebook server's side: connects to every channel
    conns = [socket.create_connection(("127.0.0.1", json.load(open(conf))[n])) for n in channels]
    time.sleep(1.5)
    os._exit(0)
accepted = [channels[n].accept()[0] for n in channels]

pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/bash", ["/bin/bash", "--norc", "-i"])
os.write(fd, b"echo $((6*7)); ls / > /dev/null; exit\n")
out = b""
try:
    while True:
        chunk = os.read(fd, 1024)
        if not chunk:
            break
        out += chunk
except OSError:
    pass
os.waitpid(pid, 0)
print("42" in out.decode(errors="replace"))
