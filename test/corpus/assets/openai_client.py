"""An OpenAI-style client: a chat completion against a local server (base_url from argv)."""
import json
import sys
import urllib.request

base = sys.argv[1]
req = urllib.request.Request(
    base + "/chat/completions",
    data=json.dumps({"model": "llama-3-8b", "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer EMPTY"},
)
print(json.load(urllib.request.urlopen(req, timeout=3))["choices"][0]["message"]["content"])
