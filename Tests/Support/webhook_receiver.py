"""A real HTTP receiver for gigs-relay's end-to-end tests.

It verifies every request's Standard Webhooks signature with the independent `standardwebhooks`
package, records each request as one JSON line, and answers with scripted statuses.

Usage: webhook_receiver.py --record FILE --statuses-file FILE [--secret whsec_...] [--delay-first-ms N]
                           [--delay-file FILE]
The statuses file holds status codes separated by white space; request n gets the n-th code (the last
one repeats). The delay file, when given, holds milliseconds every answer waits. Both are re-read on every request, so a test can change the answers while running. Prints
"LISTENING <port>" once ready.
"""
import argparse
import http.server
import json
import os
import threading
import time

from standardwebhooks.webhooks import Webhook

parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
parser.add_argument("--statuses-file", required=True)
parser.add_argument("--secret")
parser.add_argument("--delay-first-ms", type=int, default=0)
parser.add_argument("--delay-file")
args = parser.parse_args()

lock = threading.Lock()
served = 0


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global served
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        verified = None
        if args.secret:
            try:
                Webhook(args.secret).verify(body, headers)
                verified = True
            except Exception:
                verified = False
        with lock:
            number = served
            served += 1
            with open(args.statuses_file) as f:
                codes = f.read().split() or ["200"]
            status = int(codes[min(number, len(codes) - 1)])
            with open(args.record, "a") as f:
                f.write(json.dumps({"number": number, "path": self.path, "headers": headers,
                                    "body": body.decode("utf-8", "replace"), "verified": verified,
                                    "status": status, "received": time.time()}) + "\n")
        if number == 0 and args.delay_first_ms:
            time.sleep(args.delay_first_ms / 1000)
        if args.delay_file and os.path.exists(args.delay_file):
            with open(args.delay_file) as f:
                delay = f.read().strip()
            if delay:
                time.sleep(int(delay) / 1000)
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *arguments):
        pass


def exit_with_parent(parent):
    """Ends the receiver when the test process that started it is gone, even if it never said so."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("LISTENING", server.server_address[1], flush=True)
server.serve_forever()
