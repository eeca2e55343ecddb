"""A torchrun stand-in (python -m torch.distributed.run): the launcher starts one worker per rank;
rank 0 hosts the rendezvous store on a loopback port, every rank connects to it and keeps the
connection while it trains, and (with --nccl ADDR) the ranks open a ring to each other on ADDR."""
import os
import socket
import subprocess
import sys
import time

args = sys.argv[1:]
if args and args[0] == "--worker":
    rank, world, port, nccl = int(args[1]), int(args[2]), int(args[3]), args[4]
    if rank == 0:
        store = socket.create_server(("127.0.0.1", port))
        peers = [store.accept()[0] for _ in range(world - 1)]
    else:
        for _ in range(50):
            try:
                conn = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.05)
    if nccl != "-":
        ring_port = port + 1
        if rank == 0:
            ring = socket.create_server((nccl, ring_port))
            ring_peer = ring.accept()[0]
            ring_peer.sendall(b"allreduce" * 100)
        else:
            for _ in range(50):
                try:
                    ring_peer = socket.create_connection((nccl, ring_port))
                    break
                except OSError:
                    time.sleep(0.05)
            ring_peer.recv(4096)
    loss = 1.0
    for _ in range(20):
        loss *= 0.95
        time.sleep(0.05)
    print(f"rank {rank}: loss {loss:.3f}")
    sys.exit(0)

world, port, nccl = 2, 29500, "-"
for i, a in enumerate(args):
    if a.startswith("--nproc_per_node="):
        world = int(a.split("=")[1])
    if a.startswith("--master_port="):
        port = int(a.split("=")[1])
    if a.startswith("--nccl-addr="):
        nccl = a.split("=")[1]
env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world))
procs = [
    subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", str(r), str(world), str(port), nccl], env=env)
    for r in range(world)
]
sys.exit(max(p.wait() for p in procs))
