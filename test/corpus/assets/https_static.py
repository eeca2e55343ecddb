"""A static HTTPS server (argv: port, root, cert, key): a git host's dumb-HTTP endpoint."""
import functools
import ssl
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

port, root, cert, key = sys.argv[1:5]
srv = ThreadingHTTPServer(("127.0.0.1", int(port)), functools.partial(SimpleHTTPRequestHandler, directory=root))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
