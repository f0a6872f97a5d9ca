"""An OTLP/HTTP receiver for the OpenTelemetry tests (no collector is
packaged): listens on 127.0.0.1, port chosen by the kernel, and writes the
port to PORTFILE once it listens.

  otlp_receiver.py LOG PORTFILE [MODE]

MODE ok (the default): each POST is answered 200 {} and recorded in LOG as
one JSON line {"path", "content_type", "body"} (body parsed).
MODE hang: each connection is accepted and never answered (its request is
read and the socket kept open)."""
import json, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path, port_path = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "ok"
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        rec = {"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body}
        with lock, open(log_path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        out = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def write_port(port):
    with open(port_path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    import os
    os.rename(port_path + ".tmp", port_path)


if mode == "hang":
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    write_port(s.getsockname()[1])
    held = []
    while True:
        c, _ = s.accept()
        held.append(c)
else:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    write_port(srv.server_address[1])
    srv.serve_forever()
