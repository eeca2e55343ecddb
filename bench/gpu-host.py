"""Overhead of Vigil's probes on real training, on a GPU host (root, bpftrace, PyTorch with CUDA).

Runs scripts/cuda-job.py in two shapes, a small launch-bound loop (the host CPU matters most) and a
GPU-bound bf16 loop (what training mostly is), with no tracer and with the sensor's four probes
composed into one bpftrace, interleaved (A B A B ...). Prints bench/results/gpu-host.json's content:

  python3 bench/gpu-host.py PROBES_BT [REPS] [SECONDS] > bench/results/gpu-host.json

PROBES_BT is the composed script the sensor would run on that host (`vigil sensor` writes it; on a
host without node, compose it elsewhere with the host's GPU majors). BPFTRACE overrides the binary.
"""
import json, os, re, signal, subprocess, sys, time
from datetime import datetime, timezone

script = sys.argv[1]
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 4
secs = sys.argv[3] if len(sys.argv) > 3 else "8"
bpftrace = os.environ.get("BPFTRACE", "bpftrace")
job = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "cuda-job.py")
env = dict(os.environ, BPFTRACE_STRLEN="200", BPFTRACE_MAP_KEYS_MAX="16384", MALLOC_MMAP_THRESHOLD_="65536", MALLOC_ARENA_MAX="2")
tick = os.sysconf("SC_CLK_TCK")


def steps(mode):
    out = subprocess.run([sys.executable, job, secs, mode], capture_output=True, text=True, check=True).stdout
    return float(re.search(r"steps_per_s ([\d.]+)", out).group(1))


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick


def rss_kib(pid):
    return int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{pid}/status").read()).group(1))


def traced(mode):
    out = open("/tmp/vigil-gpu-host.ndjson", "w")
    bt = subprocess.Popen([bpftrace, "-f", "json", script], stdout=out, stderr=subprocess.DEVNULL, env=env)
    for _ in range(600):
        if '"data": [0,' in open("/tmp/vigil-gpu-host.ndjson").read():
            break
        time.sleep(0.1)
    else:
        raise SystemExit("probes did not attach")
    c0, t0 = cpu_s(bt.pid), time.monotonic()
    rate = steps(mode)
    cores = (cpu_s(bt.pid) - c0) / (time.monotonic() - t0)
    rss = rss_kib(bt.pid)
    bt.send_signal(signal.SIGINT)
    bt.wait()
    lines = sum(1 for _ in open("/tmp/vigil-gpu-host.ndjson"))
    return {"stepsPerS": rate, "bpftraceCores": cores, "bpftraceRssKiB": rss, "lines": lines}


runs = []
for rep in range(reps):
    for mode in ("bench", "big"):
        # Rotate which condition goes first so neither always meets a cold or a warm GPU.
        order = ("none", "probes") if rep % 2 == 0 else ("probes", "none")
        for cond in order:
            r = {"stepsPerS": steps(mode)} if cond == "none" else traced(mode)
            runs.append({"rep": rep, "workload": mode, "condition": cond, **r})
            print(json.dumps(runs[-1]), file=sys.stderr)

gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"], capture_output=True, text=True).stdout.strip()
print(json.dumps({
    "when": datetime.now(timezone.utc).isoformat(),
    "command": f"python3 bench/gpu-host.py PROBES_BT {reps} {secs}",
    "env": {},
    "result": {"host": {"gpu": gpu, "kernel": os.uname().release, "cpus": os.cpu_count()}, "runs": runs},
}, indent=2))
