"""Misbehaving peers for gigs-relay's hostile-peer tests: an HTTP server and an SMTP server that break
the rules in chosen ways, on real sockets.

Usage: hostile_peer.py http --record FILE [--cert PEM --key PEM]   (https with them; the first path
       segment picks the behaviour, see http_case)
       hostile_peer.py smtp --mode MODE --record FILE [--cert PEM --key PEM]
Prints "LISTENING <port>" once ready. Every connection or request is recorded as one JSON line
({"path": ..., "mode": ...}) so a test can count what the daemon tried.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import struct
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("kind", choices=["http", "smtp"])
parser.add_argument("--record", required=True)
parser.add_argument("--mode", default="")
parser.add_argument("--cert")
parser.add_argument("--key")
args = parser.parse_args()
lock = threading.Lock()


def record(entry):
    with lock, open(args.record, "a") as file:
        file.write(json.dumps(entry) + "\n")


def read_request(conn):
    """Reads one HTTP/1.1 request head and its Content-Length body; returns the path."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return lines[0].split(" ")[1]


def reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def http_case(conn, path):
    """Answers one request in the way its path names."""
    # The first path segment names the case, so a base URL such as http://peer/drip works for any path
    # under it (the Gigs API's /projects/...).
    name = path.split("?")[0].strip("/").split("/")[0]
    if name == "retry-after-huge":
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 99999999999999999\r\nContent-Length: 0\r\n\r\n")
    elif name == "retry-after-negative":
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: -5\r\nContent-Length: 0\r\n\r\n")
    elif name == "retry-after-digits":
        conn.sendall(b"HTTP/1.1 429 Too Many\r\nRetry-After: " + b"9" * 60 + b"\r\nContent-Length: 0\r\n\r\n")
    elif name == "retry-after-far-date":
        conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: Fri, 31 Dec 9999 23:59:59 GMT\r\nContent-Length: 0\r\n\r\n")
    elif name == "retry-after-garbage":
        conn.sendall(b"HTTP/1.1 503 Busy\r\nRetry-After: soon\xff\xfe\r\nContent-Length: 0\r\n\r\n")
    elif name == "huge-body":
        # 100 MB announced and sent as fast as the client reads.
        size = 100 * 1024 * 1024
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        block = b"x" * 65536
        try:
            for _ in range(size // len(block)):
                conn.sendall(block)
        except OSError:
            pass
    elif name == "huge-error-body":
        conn.sendall(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n")
        block = b"y" * 65536
        try:
            for _ in range(1600):
                conn.sendall(b"%x\r\n" % len(block) + block + b"\r\n")
        except OSError:
            pass
    elif name == "drip":
        # A head, then one body byte a second, forever.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        try:
            while True:
                conn.sendall(b"x")
                time.sleep(1)
        except OSError:
            pass
    elif name == "blackhole":
        time.sleep(3600)
    elif name == "reset-mid-body":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"z" * 1000)
        time.sleep(0.05)
        reset(conn)
        return False
    elif name == "bad-chunking":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-hex\r\nabc\r\n0\r\n\r\n")
    elif name == "redirect-loop":
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /redirect-loop\r\nContent-Length: 0\r\n\r\n")
    elif name == "huge-content-length":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n")
    elif name == "garbage":
        conn.sendall(b"\x00\x01NOT HTTP AT ALL\r\n\r\n")
    else:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    return True


def serve_http(conn):
    if args.cert:
        # https: a certificate the daemon does not trust (a throwaway self-signed one).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        try:
            conn = context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            record({"path": "tls-handshake-failed"})
            conn.close()
            return
    with conn:
        while True:
            try:
                path = read_request(conn)
            except OSError:
                return
            if path is None:
                return
            record({"path": path})
            try:
                if not http_case(conn, path):
                    return
            except OSError:
                return


def smtp_lines(conn):
    """Yields the client's lines (plain-text phase)."""
    buffer = b""
    while True:
        while b"\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buffer += chunk
        line, _, buffer = buffer.partition(b"\r\n")
        yield line.decode("latin-1")


def serve_smtp(conn):
    """One SMTP conversation misbehaving as --mode says."""
    mode = args.mode
    record({"mode": mode})
    with conn:
        if mode == "hang":
            time.sleep(3600)
            return
        if mode == "long-line":
            conn.sendall(b"220 " + b"a" * (1024 * 1024) + b"\r\n")
            time.sleep(5)
            return
        if mode == "greeting-421":
            conn.sendall(b"421 4.3.2 try later\r\n")
            return
        if mode == "greeting-554":
            conn.sendall(b"554 5.7.1 go away\r\n")
            return
        conn.sendall(b"220 hostile ESMTP\r\n")
        for line in smtp_lines(conn):
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                conn.sendall(b"250-hostile\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n")
            elif verb == "STARTTLS":
                if mode == "starttls-injection":
                    # The 220, and in the same packet plaintext replies a naive client would read as if
                    # they had come over TLS: a 250 for everything, even the message.
                    conn.sendall(b"220 go ahead\r\n250-hostile\r\n250 AUTH PLAIN\r\n250 ok\r\n250 ok\r\n")
                    time.sleep(5)
                    return
                if mode == "drop-after-starttls":
                    conn.sendall(b"220 go ahead\r\n")
                    time.sleep(0.1)
                    return
                if mode == "starttls-454":
                    conn.sendall(b"454 4.7.0 TLS not available\r\n")
                    continue
                conn.sendall(b"220 go ahead\r\n")
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(args.cert, args.key)
                try:
                    tls = context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                serve_smtp_tls(tls, mode)
                return
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"530 5.7.0 STARTTLS first\r\n")


def serve_smtp_tls(tls, mode):
    """After STARTTLS: the replies of a mode that fails at a later stage."""
    with tls:
        for line in smtp_lines(tls):
            verb = line.split(" ")[0].upper()
            if verb == "EHLO":
                tls.sendall(b"250-hostile\r\n250 AUTH PLAIN\r\n")
            elif verb == "MAIL":
                tls.sendall(b"451 4.3.0 try later\r\n" if mode == "mail-451" else b"250 ok\r\n")
            elif verb == "RCPT":
                tls.sendall(b"550 5.1.1 no such user\r\n" if mode == "rcpt-550" else b"250 ok\r\n")
            elif verb == "DATA":
                tls.sendall(b"354 go\r\n")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                if mode == "data-hang":
                    time.sleep(3600)
                    return
                tls.sendall(b"554 5.6.0 message refused\r\n" if mode == "data-554" else b"250 queued\r\n")
            elif verb == "QUIT":
                tls.sendall(b"221 bye\r\n")
                return
            else:
                tls.sendall(b"250 ok\r\n")


# The test process may start us with signals blocked (its threads block them): unblock them so that
# terminating us works, and end with the test process in any case.
signal.pthread_sigmask(signal.SIG_SETMASK, [])


def exit_with_parent(parent):
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(128)
print("LISTENING %d" % listener.getsockname()[1], flush=True)
serve = serve_http if args.kind == "http" else serve_smtp
while True:
    connection, _ = listener.accept()
    threading.Thread(target=serve, args=(connection,), daemon=True).start()
