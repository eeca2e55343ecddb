"""A trainer that keeps running (a target for profilers and monitors); writes its pid to argv[1]."""
import os
import sys
import time

open(sys.argv[1], "w").write(str(os.getpid()))
loss = 1.0
for _ in range(400):
    loss *= 0.999
    time.sleep(0.01)
print(f"loss {loss:.3f}")
