"""A stand-in for an AI agent: it looks around its sandbox and reports."""
import ctypes, os, socket, subprocess

def attempt(what, fn):
    try:
        result = fn()
        print(f"  {what:<46} allowed{': ' + result if result else ''}")
    except OSError as e:
        print(f"  {what:<46} refused: {e.strerror}")

def write(path):
    with open(path, "w") as f:
        f.write("agent was here\n")

libc = ctypes.CDLL(None, use_errno=True)

def unshare_user():
    if libc.unshare(0x10000000) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

def mount_tmpfs():
    if libc.mount(b"none", b"/tmp", b"tmpfs", 0, None) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

status = {k: v.strip() for k, v in
          (l.split(":", 1) for l in open("/proc/self/status") if ":" in l)}
print(f"agent: pid {os.getpid()} on {socket.gethostname()}, uid {os.getuid()}, "
      f"CapEff {status['CapEff']}, NoNewPrivs {status['NoNewPrivs']}, Seccomp {status['Seccomp']}")
print(f"agent: context files: {sorted(os.listdir('/context'))}")
print(f"agent: task: {open('/context/task.txt').read().strip()}")
attempt("write its result to /context/result.txt", lambda: write("/context/result.txt"))
attempt("write scratch data to /tmp", lambda: write("/tmp/scratch"))
attempt("run a tool from /usr (sh -c 'echo ok')",
        lambda: subprocess.run(["sh", "-c", "echo ok"], capture_output=True, check=True).stdout.decode().strip())
attempt("modify /usr/bin", lambda: write("/usr/bin/evil"))
attempt("read the host's /etc/shadow", lambda: open("/etc/shadow").read())
attempt("unshare a user namespace", unshare_user)
attempt("mount a filesystem", mount_tmpfs)
attempt("see other network interfaces", lambda: str(sorted(n for _, n in socket.if_nameindex())))
attempt("see host processes (/proc)",
        lambda: f"{len([p for p in os.listdir('/proc') if p.isdigit()])} processes visible")
