#!/usr/bin/env python3
"""Summarises a `perf record` profile of the daemon: the share of samples by group (kernel, Swift
runtime, malloc, other libc, SQLite, OpenSSL, and within the gigs-relay binary: the HTTP client, the
HTTP server, SwiftNIO, PostgresNIO, gigs-relay's own code, the rest), then the top symbols of each group.

Usage: Benchmarks/profile-summary.py PERF_DATA [TOP=5]
(Benchmarks/end-to-end.sh prints it when BENCH_PROFILE is set.)
"""
import re
import subprocess
import sys

MALLOC = re.compile(r"^(malloc|free|cfree|calloc|realloc|_int_\w+|unlink_chunk\S*|malloc_consolidate|tcache\w*|__libc_\w*alloc\w*)")
RUNTIME_LIBRARIES = ("libswiftCore", "libswift_", "libswiftSynchronization", "libdispatch", "libFoundation",
                     "libBlocksRuntime", "ld-linux", "[vdso]")
# Modules inside the binary, by the mangled module name at the start of a symbol.
MODULES = [("HTTP client (AsyncHTTPClient)", ("15AsyncHTTPClient",)),
           ("HTTP server (Hummingbird)", ("11Hummingbird", "15HummingbirdCore")),
           ("PostgreSQL client (PostgresNIO)", ("11PostgresNIO",)),
           ("gigs-relay", ("9GigsRelay", "10gigs_relay")),
           ("SwiftNIO", ("7NIOCore", "8NIOPosix", "8NIOHTTP1", "6NIOSSL", "8NIOHPACK", "7NIOHTTP2", "9NIOExtras",
                         "15NIOConcurrencyHelpers", "18_NIODataStructures"))]


def group(dso, symbol):
    if dso.startswith("[kernel"):
        return "kernel"
    if dso.startswith("libc.so"):
        return "malloc" if MALLOC.match(symbol) else "libc (other)"
    if dso.startswith("libsqlite3"):
        return "SQLite"
    if dso.startswith(("libcrypto", "libssl")):
        return "OpenSSL"
    if dso.startswith("libpq"):
        return "libpq"
    if dso.startswith(RUNTIME_LIBRARIES):
        return "Swift runtime"
    if ".so" not in dso and not dso.startswith("["):  # the executable, whatever its file is called
        name = symbol.removeprefix("$s")
        for label, prefixes in MODULES:
            # A specialisation names the module of the generic it specialises first.
            if name.startswith(prefixes):
                return label
        return "binary (other: stdlib specialisations, runtime stubs)"
    return dso


# Inclusive shares (a frame and everything it called) of the pipeline's parts: the largest share of any
# symbol matching the pattern, so nested frames are not added twice.
STAGES = [("NIO event loops (sockets in and out, both HTTP sides)", r"SelectableEventLoopC3run"),
          ("webhook ingest (WebhookController)", r"9GigsRelay17WebhookController"),
          ("SQLite writer thread (EventWriter.write)", r"9GigsRelay11EventWriterC5write"),
          ("fdatasync (commits waiting for the disk)", r"^fdatasync$"),
          ("HTTP action requests (AsyncHTTPClient execute)", r"15AsyncHTTPClient0B0C18executeCancellable"),
          ("HTTP client channel writes (on the event loops)", r"HTTP1ClientChannelHandlerC5write"),
          ("dispatcher attempts (Dispatcher.attempt)", r"9GigsRelay10DispatcherC7attempt"),
          ("dispatcher claim loop", r"9GigsRelay10DispatcherC9claimLoop"),
          ("PostgreSQL client (PostgresNIO)", r"11PostgresNIO")]


def threads(path):
    """Each thread's share; the store's writer thread is the one mostly in SQLite and the kernel."""
    report = subprocess.run(
        ["perf", "report", "-i", path, "--no-children", "--sort", "pid,dso", "-g", "none", "--stdio"],
        capture_output=True, text=True, check=True).stdout
    line = re.compile(r"^\s*([\d.]+)%\s+(\d+):(.+?)\s{2,}(\S+)\s*$")
    shares, sqlite = {}, {}
    names = {}
    for found in map(line.match, report.splitlines()):
        if not found:
            continue
        share, tid, name, dso = float(found[1]), found[2], found[3].strip(), found[4]
        shares[tid] = shares.get(tid, 0) + share
        names[tid] = name
        if dso.startswith("libsqlite3"):
            sqlite[tid] = sqlite.get(tid, 0) + share
    print("share by thread")
    for tid, share in sorted(shares.items(), key=lambda item: -item[1]):
        if share < 0.5:
            continue
        if sqlite.get(tid, 0) > share * 0.2:
            role = "the SQLite store's writer thread"
        elif names[tid].startswith("NIO-"):
            role = "a SwiftNIO event loop (HTTP in and out)"
        else:
            role = "Swift concurrency's executor (request and dispatcher tasks)"
        print(f"{share:6.1f}%  {role} ({names[tid]}, {tid})")


def stages(path):
    report = subprocess.run(
        ["perf", "report", "-i", path, "--children", "--sort", "symbol", "-g", "none", "--stdio"],
        capture_output=True, text=True, check=True).stdout
    line = re.compile(r"^\s*([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(\S+)")
    rows = [(float(found[1]), found[2]) for found in map(line.match, report.splitlines()) if found]
    print("inclusive share of the pipeline's parts (a frame with all it calls)")
    for label, pattern in STAGES:
        shares = [share for share, symbol in rows if re.search(pattern, symbol)]
        if shares:
            print(f"{max(shares):6.1f}%  {label}")


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    report = subprocess.run(
        ["perf", "report", "-i", path, "--no-children", "--sort", "dso,symbol", "-g", "none", "--stdio"],
        capture_output=True, text=True, check=True).stdout
    line = re.compile(r"^\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.+?)\s*$")
    groups = {}
    for text in report.splitlines():
        found = line.match(text)
        if not found:
            continue
        share, dso, symbol = float(found[1]), found[2], found[3].split("  ")[0]
        entry = groups.setdefault(group(dso, symbol), [0.0, []])
        entry[0] += share
        entry[1].append((share, symbol))
    print(f"profile {path}: share of samples by group, top {top} symbols each")
    for name, (share, symbols) in sorted(groups.items(), key=lambda item: -item[1][0]):
        if share < 0.5:
            continue
        print(f"{share:6.1f}%  {name}")
        for symbol_share, symbol in sorted(symbols, reverse=True)[:top]:
            print(f"          {symbol_share:5.1f}%  {demangle(symbol)[:110]}")
    threads(path)
    stages(path)


def demangle(symbol):
    if not symbol.startswith("$s"):
        return symbol
    try:
        result = subprocess.run(["swift", "demangle", "--simplified", "--compact", symbol],
                                capture_output=True, text=True, timeout=10)
        return result.stdout.strip() or symbol
    except (OSError, subprocess.SubprocessError):
        return symbol


if __name__ == "__main__":
    main()
