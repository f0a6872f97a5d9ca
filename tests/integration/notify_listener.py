#!/usr/bin/env python3
"""A unix datagram socket for the sd_notify and journald tests: bound at
SOCKET with SO_PASSCRED, it appends each line of each datagram it gets to
OUT as "<sender pid> <line>", in the order they came. (A journald message
whose value has a newline uses the binary form: the tests send none.)"""
import os
import socket
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
os.chmod(path, 0o666)
with open(out, "a", buffering=1) as f:
    f.write("listening\n")
    while True:
        data, anc, _, _ = s.recvmsg(65536, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(4 * 16))
        pid = 0
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", cdata[:12])[0]
            elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                for i in range(len(cdata) // 4):
                    os.close(struct.unpack_from("i", cdata, 4 * i)[0])
        for line in data.decode(errors="replace").split("\n"):
            if line:
                f.write("%d %s\n" % (pid, line))
