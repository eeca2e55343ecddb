"""A gunicorn stand-in (MLflow's server): the master binds a loopback port and forks workers that
accept on the shared socket."""
import os
import signal
import socket
import sys

port = int(sys.argv[1])
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 2
sock = socket.create_server(("127.0.0.1", port), backlog=64)
children = []
for _ in range(workers):
    pid = os.fork()
    if pid == 0:
        while True:
            conn, _ = sock.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            conn.close()
    children.append(pid)


def stop(*_):
    for c in children:
        os.kill(c, signal.SIGTERM)
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
for c in children:
    os.waitpid(c, 0)
