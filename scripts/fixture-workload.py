#!/usr/bin/env python3
"""
Keeps, of exec.bt's raw output (stdin), what the recording's workload did: the execs of processes
descending from `root` (argv[1], the recording shell), so a fixture recorded on a busy host holds no
other process's command lines. Map entries of other processes are dropped, a flush's count of sent
heads is set to the heads kept, and value records (failed execs) are kept for the same processes.
"""
import json
import sys

root = int(sys.argv[1])
lines = [line for line in sys.stdin.read().splitlines() if line.strip()]

# Parents of every exec'ing process the output names: heads (successful) and caller records (failed).
parent = {}
for line in lines:
    o = json.loads(line)
    if o["type"] == "map":
        for name, entries in o["data"].items():
            if name.startswith("@exec_head"):
                for key, v in entries.items():
                    parent[int(key.split(",")[0])] = v[1]
    elif o["type"] == "value" and o["data"][0] == 2:
        parent[o["data"][2]] = o["data"][4]


def kept(pid, seen=()):
    """Whether pid descends from root through processes the output names."""
    p = parent.get(pid)
    if p is None or pid in seen:
        return False
    return p == root or kept(p, seen + (pid,))


heads = 0
for line in lines:
    o = json.loads(line)
    if o["type"] == "map":
        name, entries = next(iter(o["data"].items()))
        if name.startswith("@exec_sent"):
            if heads:
                print(json.dumps({"type": "map", "data": {name: {"1": heads}}}))
            heads = 0
            continue
        entries = {k: v for k, v in entries.items() if kept(int(k.split(",")[0]))}
        if name.startswith("@exec_head"):
            heads += len(entries)
        if entries:
            print(json.dumps({"type": "map", "data": {name: entries}}))
    elif o["type"] == "value" and o["data"][0] in (1, 2, 3, 4):
        if kept(o["data"][2]):
            print(line)
    else:
        print(line)
