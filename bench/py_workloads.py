#!/usr/bin/env python3
"""py_workloads.py WORKLOAD N -- the Python 3 socket module variant for
bench/run.pl.  Same workloads as perl_workloads.pl; prints the seconds the
loop took.

py_workloads.py w5serve selectors|asyncio|uvloop -- W5's Python echo
servers, as bench/w5_servers.pl describes them: selectors with the Poller
SYNOPSIS's loop, and an asyncio Protocol on asyncio's own loop and on
uvloop's."""
import os
import socket
import struct
import subprocess
import sys
import time

CHUNK = 65536


def w1(n):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    t0 = time.perf_counter()
    for _ in range(n):
        a.send(b'x')
        b.recv(64)
        b.send(b'x')
        a.recv(64)
    return time.perf_counter() - t0


def w2(n):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        b.close()
        chunk = b'w' * CHUNK
        for _ in range(n):
            a.sendall(chunk)
        os._exit(0)
    a.close()
    total = 0
    while True:
        data = b.recv(CHUNK)
        if not data:
            break
        total += len(data)
    os.waitpid(pid, 0)
    assert total == n * CHUNK, total
    return time.perf_counter() - t0


def w3(n):
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(('127.0.0.1', 0))
    b.bind(('127.0.0.1', 0))
    b_addr = b.getsockname()
    msg = b'u' * 64
    t0 = time.perf_counter()
    for _ in range(n):
        a.sendto(msg, b_addr)
        data, frm = b.recvfrom(64)
        b.sendto(data, frm)
        data, frm = a.recvfrom(64)
    return time.perf_counter() - t0


BATCH = 32


def w3b(n):
    """W3 in lock-step batches of 32; Python has no batch calls: one per call."""
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(('127.0.0.1', 0))
    b.bind(('127.0.0.1', 0))
    b_addr = b.getsockname()
    msg = b'u' * 64
    t0 = time.perf_counter()
    for _ in range(n):
        for _ in range(BATCH):
            a.sendto(msg, b_addr)
        got = [b.recvfrom(64) for _ in range(BATCH)]
        for data, frm in got:
            b.sendto(data, frm)
        for _ in range(BATCH):
            a.recv(64)
    return time.perf_counter() - t0


# W3R: the receive side alone, as perl_workloads.pl describes it.
W3R_SIZE = 1200
W3R_RCVBUF = 4 << 20
W3R_WAIT = 10
SENDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'build', 'c_workloads')
# Linux's number; the module leaves it out
SO_RCVBUFFORCE = getattr(socket, 'SO_RCVBUFFORCE', 33)


def w3r(n):
    """Receive n 1200-byte datagrams from a C sender process, one recvfrom each."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    try:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, W3R_RCVBUF)
    except PermissionError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, W3R_RCVBUF)
    # the kernel's timeout: settimeout would poll before every receive
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack('ll', W3R_WAIT, 0))
    sender = subprocess.Popen([SENDER, 'w3rsend', str(s.getsockname()[1]), str(os.getpid())],
                              stdout=subprocess.DEVNULL)
    try:
        data, frm = s.recvfrom(2048)
        if len(data) != W3R_SIZE:
            sys.exit('w3r: a datagram of %d bytes' % len(data))
        t0 = time.perf_counter()
        for _ in range(n):
            data, frm = s.recvfrom(2048)
            if len(data) != W3R_SIZE:
                sys.exit('w3r: a datagram of %d bytes' % len(data))
        return time.perf_counter() - t0
    finally:
        sender.kill()
        sender.wait()


def w4(n):
    l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(('127.0.0.1', 0))
    l.listen(128)
    addr = l.getsockname()
    t0 = time.perf_counter()
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.connect(addr)
        s, _ = l.accept()
        c.close()
        s.close()
    return time.perf_counter() - t0


def w6(n):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fa, fb = a.makefile('rwb', buffering=0), b.makefile('rwb', buffering=0)
    ra, rb = a.makefile('rb'), b.makefile('rb')
    t0 = time.perf_counter()
    for _ in range(n):
        fa.write(b'ping\n')
        rb.readline()
        fb.write(b'pong\n')
        ra.readline()
    return time.perf_counter() - t0


def w5_listener():
    return socket.create_server(('127.0.0.1', 0), backlog=1024)


def w5_ready(port):
    """The port, for the load generator, once the server is listening."""
    print(port, flush=True)


def w5_selectors():
    import selectors
    listener = w5_listener()
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    w5_ready(listener.getsockname()[1])
    while True:
        for key, _ in sel.select(1.5):
            sock = key.fileobj
            if sock is listener:
                conn, _ = listener.accept()
                sel.register(conn, selectors.EVENT_READ)
            else:
                data = sock.recv(4096)
                if data:
                    sock.sendall(data)
                else:
                    sel.unregister(sock)
                    sock.close()


def w5_protocol_server(loop):
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    # (asyncio's default backlog is 100)
    server = loop.run_until_complete(loop.create_server(Echo, '127.0.0.1', 0, backlog=1024))
    w5_ready(server.sockets[0].getsockname()[1])
    loop.run_forever()


def w5_asyncio():
    import asyncio
    w5_protocol_server(asyncio.new_event_loop())


def w5_uvloop():
    import uvloop
    w5_protocol_server(uvloop.new_event_loop())


if __name__ == '__main__':
    if sys.argv[1] == 'w5serve':
        sys.exit(globals()['w5_' + sys.argv[2]]())
    workload, n = sys.argv[1], int(sys.argv[2])
    print('%.6f' % globals()[workload](n))
