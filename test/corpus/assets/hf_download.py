#!/usr/bin/python3
"""A huggingface-cli stand-in (`huggingface-cli download REPO`): fetches a model's files from the hub
(HF_ENDPOINT, a local server here) into ~/.cache/huggingface/hub."""
import os
import sys
import urllib.request

repo = sys.argv[sys.argv.index("download") + 1]
endpoint = os.environ["HF_ENDPOINT"]
cache = os.path.expanduser(f"~/.cache/huggingface/hub/models--{repo.replace('/', '--')}/snapshots/main")
os.makedirs(cache, exist_ok=True)
for name in ("config.json", "tokenizer.json", "model.safetensors"):
    with urllib.request.urlopen(f"{endpoint}/{repo}/resolve/main/{name}", timeout=3) as r:
        open(os.path.join(cache, name), "wb").write(r.read())
print(cache)
