"""Inside a container: one network action per argument, each printed as
NAME=RESULT where RESULT is ok, an errno name, or timeout. Actions:
  tcp:HOST:PORT  udp:HOST:PORT (connected)  sendto:HOST:PORT  sendmmsg:HOST:PORT
  tfo:HOST:PORT  ping:HOST  raw  packet  listen:HOST:PORT:N (serve N TCP clients)
  udpserve:HOST:PORT:N (echo N datagrams)"""
import ctypes, errno, os, socket, struct, sys

def fam(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

def hp(spec):
    host, port = spec.rsplit(":", 1)
    return host.strip("[]"), int(port)

def run(action):
    kind, _, rest = action.partition(":")
    if kind == "tcp":
        h, p = hp(rest)
        s = socket.socket(fam(h), socket.SOCK_STREAM); s.settimeout(2)
        s.connect((h, p)); s.sendall(b"x")
        return "ok" if s.recv(10).startswith(b"hello") else "nodata"
    if kind in ("udp", "sendto", "sendmmsg"):
        h, p = hp(rest)
        s = socket.socket(fam(h), socket.SOCK_DGRAM); s.settimeout(1)
        if kind == "udp":
            s.connect((h, p)); s.send(b"ping")
        elif kind == "sendto":
            s.sendto(b"ping", (h, p))
        else:
            return sendmmsg(s, h, p)
        return "ok" if s.recv(10) == b"ping" else "nodata"
    if kind == "tfo":
        h, p = hp(rest)
        s = socket.socket(fam(h), socket.SOCK_STREAM)   # blocking: the SYN carries the data
        s.sendto(b"tfo", 0x20000000, (h, p))   # MSG_FASTOPEN
        s.settimeout(2)
        return "ok" if s.recv(10).startswith(b"hello") else "nodata"
    if kind == "ping":
        h = rest
        f = fam(h)
        proto = socket.IPPROTO_ICMP if f == socket.AF_INET else socket.IPPROTO_ICMPV6
        s = socket.socket(f, socket.SOCK_DGRAM, proto); s.settimeout(1)
        typ = 8 if f == socket.AF_INET else 128
        s.sendto(struct.pack("!BBHHH", typ, 0, 0, 1, 1) + b"nucleus", (h, 0))
        s.recv(100)
        return "ok"
    if kind == "sleep":
        import time; time.sleep(float(rest)); return "ok"
    if kind == "cgroup":
        return open("/proc/self/cgroup").read().split("::")[-1].strip()
    if kind == "raw":
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        return "ok"
    if kind == "packet":
        socket.socket(17, socket.SOCK_RAW, 0)
        return "ok"
    if kind == "listen":
        h, p, n = rest.rsplit(":", 2)
        s = socket.socket(fam(h), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((h.strip("[]"), int(p))); s.listen(8)
        print("listening", flush=True)
        s.settimeout(10)
        for _ in range(int(n)):
            c, _ = s.accept(); c.sendall(b"served " + b"x" * 3000 + b"\n"); c.close()
        return "ok"
    if kind == "udpserve":
        h, p, n = rest.rsplit(":", 2)
        s = socket.socket(fam(h), socket.SOCK_DGRAM); s.bind((h.strip("[]"), int(p)))
        print("listening", flush=True)
        s.settimeout(10)
        for _ in range(int(n)):
            d, peer = s.recvfrom(100); s.sendto(d, peer)
        return "ok"
    return "badaction"

class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
class msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32), ("iov", ctypes.POINTER(iovec)),
                ("iovlen", ctypes.c_size_t), ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]
class mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", msghdr), ("len", ctypes.c_uint)]

def sendmmsg(s, h, p):
    libc = ctypes.CDLL(None, use_errno=True)
    if s.family == socket.AF_INET:
        sa = struct.pack("!HH4s8x", socket.AF_INET, p, socket.inet_pton(socket.AF_INET, h))
        sa = struct.pack("=H", socket.AF_INET) + sa[2:]
    else:
        sa = struct.pack("=H", socket.AF_INET6) + struct.pack("!HI16sI", p, 0, socket.inet_pton(socket.AF_INET6, h), 0)
    name = ctypes.create_string_buffer(sa, len(sa))
    data = ctypes.create_string_buffer(b"ping", 4)
    iov = iovec(ctypes.cast(data, ctypes.c_void_p), 4)
    m = mmsghdr(msghdr(ctypes.cast(name, ctypes.c_void_p), len(sa), ctypes.pointer(iov), 1, None, 0, 0), 0)
    if libc.sendmmsg(s.fileno(), ctypes.byref(m), 1, 0) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return "ok" if s.recv(10) == b"ping" else "nodata"

for a in sys.argv[1:]:
    try:
        r = run(a)
    except socket.timeout:
        r = "timeout"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    print(f"{a}={r}", flush=True)
