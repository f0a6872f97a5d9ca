"""Servers for the network tests, run inside a network namespace the test
made: TCP listeners that greet and log each connection, UDP ports that echo
and log each datagram. Usage: netserver.py LOG ADDR:PORT/PROTO..."""
import selectors, socket, sys

log = open(sys.argv[1], "a", buffering=1)
sel = selectors.DefaultSelector()
for spec in sys.argv[2:]:
    addr, proto = spec.rsplit("/", 1)
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    if proto == "tcp":
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_TCP, 23, 16)   # TCP_FASTOPEN: accept TFO
        s.bind((host, int(port)))
        s.listen(64)
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((host, int(port)))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, (proto, spec))
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s = key.fileobj
        proto, spec = key.data
        try:
            if proto == "tcp":
                c, peer = s.accept()
                c.settimeout(1)
                try:
                    data = c.recv(100)
                except OSError:
                    data = b""
                log.write(f"tcp {spec} from {peer[0]} data={data!r}\n")
                try:
                    c.sendall(b"hello\n")
                except OSError:
                    pass
                c.close()
            else:
                data, peer = s.recvfrom(2048)
                log.write(f"udp {spec} from {peer[0]} data={data!r}\n")
                s.sendto(data, peer)
        except OSError as e:
            log.write(f"error {spec} {e}\n")
