"""A stand-in RL trainer: the flags of a GRPO run, a few steps, and with --gpu the ioctls of a CUDA
context start on the test GPU node (gpu_ioctl.py)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

p = argparse.ArgumentParser()
p.add_argument("--algorithm", default="ppo")
p.add_argument("--num-generations", type=int, default=4)
p.add_argument("--beta", type=float, default=0.04)
p.add_argument("--gpu")
a = p.parse_args()
if a.gpu:
    import gpu_ioctl

    gpu_ioctl.run(a.gpu, 3)
loss = 1.0
for step in range(100):
    loss *= 0.99
print(f"{a.algorithm}: {a.num_generations} generations, loss {loss:.3f}")
