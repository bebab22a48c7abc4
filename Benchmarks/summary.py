#!/usr/bin/env python3
"""The throughput issue's table from one Benchmarks/run.sh run: every row as a ratio of figures measured
in that run, beside its target.

Usage: Benchmarks/summary.py PARTS_FOLDER
PARTS_FOLDER holds the output of each part as run.sh saves it: ingest-64, e2e, paced300, ordered,
growth, postgres. A part that is missing (or failed) prints "not measured".
"""
import os
import re
import sys

folder = sys.argv[1]


def text(name):
    path = os.path.join(folder, name)
    return open(path).read() if os.path.exists(path) else ""


def number(pattern, source, group=1):
    found = re.search(pattern, source, re.MULTILINE)
    return float(found.group(group)) if found else None


def ratio(after, before):
    return after / before if after is not None and before else None


rows = []


def row(name, figure, value, target, met):
    if value is None:
        rows.append((name, "not measured", target, ""))
    else:
        rows.append((name, figure, target, "met" if met(value) else "NOT MET"))


ingest = text("ingest-64")
ingest_rate = number(r"^ingest\s+(\d+) req/s", ingest)
ingest_cpu = number(r"^ingest\s.*server CPU ([\d.]+) s per 10k", ingest)  # s per 10k = 100 µs per event
ingest_us = ingest_cpu * 100 if ingest_cpu is not None else None
healthz_ratio = number(r"^ratio ingest/healthz: ([\d.]+)", ingest)
row("ingest alone, 64 connections", f"{ingest_rate:.0f}/s, {healthz_ratio:.2f} of /healthz, {ingest_us:.0f} µs CPU per event"
    if ingest_rate and healthz_ratio and ingest_us else "", ingest_rate, "unchanged or better (compare.sh)", lambda _: True)


def e2e(name):
    source = text(name)
    return (
        number(r"^delivered: .* = (\d+) events/s end to end", source),
        number(r"^daemon CPU for ingest \+ delivery: (\d+) µs per event", source),
        number(r"^lag ingest→delivered: p50 \d+ ms\s+p99 (\d+) ms", source),
        number(r"^ingest: (\d+) events/s accepted", source),
    )


flat_rate, flat_us, _, _ = e2e("e2e")
value = ratio(flat_rate, ingest_rate)
row("end to end flat out / ingest alone", f"{value:.2f} ({flat_rate:.0f} / {ingest_rate:.0f} events/s)" if value else "",
    value, "≥ 0.7", lambda v: v >= 0.7)
value = ratio(flat_us, ingest_us)
row("CPU per event, end to end / ingest alone", f"{value:.2f}× ({flat_us:.0f} / {ingest_us:.0f} µs)" if value else "",
    value, "≤ 1.4×", lambda v: v <= 1.4)

paced_rate, paced_us, paced_p99, _ = e2e("paced300")
value = ratio(paced_us, flat_us)
row("CPU per event at 300/s / flat out", f"{value:.2f}× ({paced_us:.0f} / {flat_us:.0f} µs), lag p99 {paced_p99:.0f} ms"
    if value and paced_p99 is not None else "", value, "≤ 1.5×, lag p99 < 20 ms",
    lambda v: v <= 1.5 and paced_p99 < 20)

postgres = text("postgres")
pg_ingest = number(r"^ingest, 1 instance\s+(\d+) req/s", postgres)
value = ratio(pg_ingest, ingest_rate)
row("PostgreSQL ingest / SQLite ingest", f"{value:.2f} ({pg_ingest:.0f} / {ingest_rate:.0f}/s)" if value else "",
    value, "≥ 0.85", lambda v: v >= 0.85)
pg_e2e = number(r"^end to end, 1 instance, flat out.*\n(?:.*\n)*?delivered: .* = (\d+) events/s end to end", postgres)
value = ratio(pg_e2e, flat_rate)
row("PostgreSQL end to end / SQLite end to end", f"{value:.2f} ({pg_e2e:.0f} / {flat_rate:.0f} events/s)" if value else "",
    value, "≥ 0.8", lambda v: v >= 0.8)
for label, pattern in [
    ("2 PostgreSQL instances / 1, ingest (nginx)", r"^ratio ingest 2 instances / 1 \(same nginx\)\s+([\d.]+)"),
    ("2 PostgreSQL instances / 1, paced, accepted", r"^ratio paced accepted 2 instances / 1\s+([\d.]+)"),
    ("2 PostgreSQL instances / 1, paced, delivered", r"^ratio paced delivered 2 instances / 1\s+([\d.]+)"),
]:
    value = number(pattern, postgres)
    row(label, f"{value:.2f}" if value is not None else "", value, "≥ 0.95", lambda v: v >= 0.95)

ordered_rate, _, _, _ = e2e("ordered")
value = ratio(ordered_rate, flat_rate)
row("ordered (1,000 subjects) / unordered, end to end", f"{value:.2f} ({ordered_rate:.0f} / {flat_rate:.0f} events/s)"
    if value else "", value, "≥ 0.9", lambda v: v >= 0.9)

sizes = re.findall(r"^store of\s+(\d+) events.*peak RSS (\d+) kB", text("growth"), re.MULTILINE)
if sizes:
    rss = [int(kb) for _, kb in sizes]
    figure = " → ".join(f"{int(kb) / 1024:.0f} MB" for _, kb in sizes) + f" ({', '.join(size for size, _ in sizes)} events)"
    row("peak RSS as the store grows", figure, max(rss) / min(rss), "flat, < 64 MiB",
        lambda v: v <= 1.15 and max(rss) < 65536)
else:
    row("peak RSS as the store grows", "", None, "flat, < 64 MiB", lambda _: True)

width = max(len(name) for name, _, _, _ in rows)
figure_width = max(len(figure) for _, figure, _, _ in rows)
for name, figure, target, verdict in rows:
    print(f"{name:{width}}  {figure:{figure_width}}  {target:26}  {verdict}")
