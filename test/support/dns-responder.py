import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53))
s.settimeout(8)  # the recorder kills it sooner
try:
  while True:
    q, a = s.recvfrom(512)
    i = 12
    while q[i]: i += 1 + q[i]
    qtype = struct.unpack(">H", q[i+1:i+3])[0]
    qd = q[12:i+5]
    if qtype == 1:
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 300, 4) + bytes([127, 0, 0, 7])
    elif qtype == 28:
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 28, 1, 300, 16) + bytes(15) + b"\x07"
    else:
        ans = b""
    hdr = q[:2] + b"\x81\x80" + struct.pack(">HHHH", 1, 1 if ans else 0, 0, 0)
    s.sendto(hdr + qd + ans, a)
except socket.timeout: pass
