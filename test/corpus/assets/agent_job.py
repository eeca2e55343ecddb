"""A job whose agent runs a tool call: a shell that runs mining code with the job's own interpreter
on the GPU. usage: python agent_job.py GPU_NODE"""
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
subprocess.run(["/bin/sh", "-c", f"{sys.executable} {here}/gpu_ioctl.py {sys.argv[1]} 3"], check=False)
