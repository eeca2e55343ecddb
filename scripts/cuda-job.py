# A small but real CUDA job for scripts/record-gpu-trace.sh: context, allocations, a bf16 matmul, a training
# loop with allocation churn (RM ioctls), and 1 MiB of managed memory (UVM). Usage: cuda-job.py SECONDS MODE
# MODE trace: all of the above; bench: the small, launch-bound loop alone; big: a GPU-bound bf16 loop.
# Prints steps_per_s last.
import sys, time, torch
secs = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
mode = sys.argv[2] if len(sys.argv) > 2 else "trace"
dev = torch.device("cuda")
torch.manual_seed(0)
width, batch, dtype = (8192, 8192, torch.bfloat16) if mode == "big" else (1024, 256, torch.float32)
model = torch.nn.Sequential(torch.nn.Linear(width, 4 * width), torch.nn.ReLU(), torch.nn.Linear(4 * width, width)).to(dev, dtype)
opt = torch.optim.SGD(model.parameters(), lr=1e-3)
x = torch.randn(batch, width, device=dev, dtype=dtype); y = torch.randn(batch, width, device=dev, dtype=dtype)
if mode == "trace":
    a = torch.randn(4096, 4096, device=dev, dtype=torch.bfloat16); (a @ a).sum().item()
    try:
        import cupy
        m = cupy.cuda.malloc_managed(1 << 20); del m
        print("managed 1 MiB ok")
    except Exception as e:
        print("managed skipped:", e)
torch.cuda.synchronize()
steps = 0; t0 = time.perf_counter()
while time.perf_counter() - t0 < secs:
    for _ in range(20):
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y); loss.backward(); opt.step()
    torch.cuda.synchronize(); steps += 20
    if mode == "trace":
        b = torch.empty(1 << 26, device=dev); del b; torch.cuda.empty_cache()  # allocation churn: RM ioctls
print(f"steps_per_s {steps / (time.perf_counter() - t0):.1f}")
