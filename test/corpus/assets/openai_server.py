"""A vLLM stand-in: an OpenAI-style HTTP API (/v1/models, /v1/chat/completions) on a loopback port."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Api(BaseHTTPRequestHandler):
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply({"object": "list", "data": [{"id": "llama-3-8b", "object": "model"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.reply({"choices": [{"message": {"role": "assistant", "content": "hello"}}]})

    def log_message(self, *a):
        pass


port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 8000
ThreadingHTTPServer(("127.0.0.1", port), Api).serve_forever()
