"""A real OTLP/HTTP trace receiver for gigs-relay's tracing tests.

It decodes every POST /v1/traces (application/x-protobuf) with the `opentelemetry-proto` package and
records each span as one JSON line; it also appends every request body as it came to a file, so a test
can search the bytes that were exported. The mode file says how it answers: `ok` (200, an empty
ExportTraceServiceResponse), `error` (500), or `blackhole` (reads the request and never answers).

Usage: otlp_receiver.py --record FILE --raw FILE --mode-file FILE
Prints "LISTENING <port>" once ready.
"""
import argparse
import http.server
import json
import os
import threading
import time

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

parser = argparse.ArgumentParser()
parser.add_argument("--record", required=True)
parser.add_argument("--raw", required=True)
parser.add_argument("--mode-file", required=True)
args = parser.parse_args()

lock = threading.Lock()


def value(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return ""
    found = getattr(any_value, kind)
    if kind == "bool_value":
        return "true" if found else "false"
    return str(found)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with open(args.mode_file) as f:
            mode = f.read().strip() or "ok"
        with lock:
            with open(args.raw, "ab") as f:
                f.write(body)
            if mode == "ok":
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                with open(args.record, "a") as f:
                    for resource_spans in request.resource_spans:
                        resource = {kv.key: value(kv.value) for kv in resource_spans.resource.attributes}
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                f.write(json.dumps({
                                    "traceId": span.trace_id.hex(), "spanId": span.span_id.hex(),
                                    "parentSpanId": span.parent_span_id.hex(), "name": span.name,
                                    "kind": span.kind, "status": span.status.code,
                                    "service": resource.get("service.name", ""),
                                    "attributes": {kv.key: value(kv.value) for kv in span.attributes},
                                }) + "\n")
        if mode == "blackhole":
            time.sleep(3600)
            return
        if mode == "error":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        answer = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *arguments):
        pass


def exit_with_parent(parent):
    """Ends the receiver when the test process that started it is gone, even if it never said so."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


threading.Thread(target=exit_with_parent, args=(os.getppid(),), daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("LISTENING", server.server_address[1], flush=True)
server.serve_forever()
