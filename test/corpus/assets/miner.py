"""A miner stand-in started with no arguments: it reads config.json from its own folder (as XMRig
does) and speaks stratum JSON-RPC to the pool there: login, then a share submit."""
import json
import os
import socket
import sys

here = os.path.dirname(os.path.abspath(sys.argv[0]))
with open(os.path.join(here, "config.json")) as f:
    pool = json.load(f)["pools"][0]
host, port = pool["url"].split("://")[-1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=2)
login = {"id": 1, "jsonrpc": "2.0", "method": "login", "params": {"login": pool["user"], "pass": pool["pass"], "agent": "XMRig/6.21.0"}}
s.sendall((json.dumps(login) + "\n").encode())
reply = s.makefile().readline()
job = json.loads(reply)["result"]
submit = {"id": 2, "jsonrpc": "2.0", "method": "submit", "params": {"id": job["id"], "job_id": job["job"]["job_id"], "nonce": "0b0a0000", "result": "00" * 32}}
s.sendall((json.dumps(submit) + "\n").encode())
s.close()
