"""A live OTLP/HTTP receiver for the benchmarks: one thread, non-blocking,
answers each POST 200 {} as soon as its body is in, as a collector would,
and appends "PATH BYTES" to LOG for each. Listens on 127.0.0.1, the port
chosen by the kernel and written to PORTFILE once it listens.

  otlp_sink.py LOG PORTFILE"""
import os, selectors, socket, sys

log = open(sys.argv[1], "a", buffering=1)
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
sel = selectors.DefaultSelector()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(128)
srv.setblocking(False)
sel.register(srv, selectors.EVENT_READ, None)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % srv.getsockname()[1])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])


def complete(buf):
    """The path and body size once the request is in, else None."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    if len(body) < n:
        return None
    return head.split(b" ")[1].decode(), n


while True:
    for key, _ in sel.select():
        if key.data is None:
            try:
                c, _ = srv.accept()
            except BlockingIOError:
                continue
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, [b""])
            continue
        c, st = key.fileobj, key.data
        try:
            d = c.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            d = b""
        st[0] += d
        done = complete(st[0]) if d else None
        if done:
            try:
                c.sendall(ANSWER)
            except OSError:
                pass
            log.write("%s %d\n" % done)
        if done or not d:
            sel.unregister(c)
            c.close()
