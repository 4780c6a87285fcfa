#!/usr/bin/env python3
"""Measures what each kind of request costs, for docs/capacity.md: for each scenario, the requests a
second one instance served and, per request, the CPU time of the server and of the worker, the
PostgreSQL statements the server sent (to the primary and to the replicas, from its own /metrics), its
Redis round trips (one a call: a script, a pipeline or a command), and the CPU time PostgreSQL (all its
processes on this machine) and Redis spent; then the RSS of the server and the worker. A scenario's
work ends once the worker has handled every event it caused (the orders' follow-up), so that work is
counted in it. Run by scripts/capacity, which starts the server and a worker.

    scripts/capacity.py PORT ADMIN_PORT SERVER_PID WORKER_PID LOADGEN
"""

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request

from outbox_drained import wait as drained

DURATION = os.environ.get("DURATION", "15s")
CONNECTIONS = os.environ.get("CONNECTIONS", "32")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
REDIS_PORT = int(os.environ["STACK_REDIS_PORT"])
REDIS_PASSWORD = os.environ["STACK_REDIS_PASSWORD"]


def graphql(port, query, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", json.dumps({"query": query}).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        reply = json.load(answer)
    if reply.get("errors"):
        sys.exit(f"[capacity] {query!r} failed: {reply['errors']}")
    return reply["data"]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_seconds():
    """Every postgres process's CPU time, the exited backends' included (counted in their parents')."""
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as file:
                text = file.read()
        except OSError:
            continue
        if text.split(" (", 1)[1].startswith("postgres)"):
            fields = text.rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
    return total


def redis_cpu_seconds():
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as connection:
        connection.sendall(f"AUTH {REDIS_PASSWORD}\r\nINFO cpu\r\nQUIT\r\n".encode())
        text = b""
        while chunk := connection.recv(65536):
            text += chunk
    values = dict(re.findall(r"(used_cpu_(?:sys|user)):([\d.]+)", text.decode()))
    return float(values["used_cpu_sys"]) + float(values["used_cpu_user"])


def metrics(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    totals = {"primary": 0.0, "replicas": 0.0, "redis": 0.0}
    for name, labels, value in re.findall(r"^(\w+)(?:\{([^}]*)\})? ([\d.e+]+)$", text, re.M):
        if name == "db_statements_total":
            totals["replicas" if "replica" in labels else "primary"] += float(value)
        elif name == "redis_command_duration_seconds_count":
            totals["redis"] += float(value)
    return totals


def rss_mb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as file:
        return int(re.search(r"VmRSS:\s+(\d+)", file.read()).group(1)) / 1024


def sample(admin_port, server_pid, worker_pid):
    return {
        **metrics(admin_port),
        "cpu": cpu_seconds(server_pid),
        "worker_cpu": cpu_seconds(worker_pid),
        "pg_cpu": postgres_cpu_seconds(),
        "redis_cpu": redis_cpu_seconds(),
    }


def wrk(port, **environment):
    output = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "-s", "bench/graphql.lua", f"http://127.0.0.1:{port}"],
        env={**os.environ, **environment}, check=True, capture_output=True, text=True,
    ).stdout
    result = dict(re.findall(r"(\w+)=([\d.]+)", next(l for l in output.splitlines() if l.startswith("RESULT"))))
    return int(result["requests"]), int(result["errors"]), int(result["requests"]) / float(result["rps"]), None


def loadgen(binary, port, *flags):
    output = subprocess.run(
        [binary, "--url", f"http://127.0.0.1:{port}", "--duration", DURATION, "--summary", *flags],
        check=True, capture_output=True, text=True,
    ).stdout
    run = json.loads(next(l for l in output.splitlines() if l.startswith("SUMMARY "))[len("SUMMARY "):])
    return run["requests"], run["errors"] + run["orders_lost"] + run["carts_lost"], run["seconds"], run["orders_placed"]


def main(port, admin_port, server_pid, worker_pid, loadgen_binary):
    listing = graphql(port, "{ products(first: 20, filter: { inStock: true }) { edges { node { slug variants { id inStock } } } } }")
    node = listing["products"]["edges"][0]["node"]
    variant = next(v["id"] for v in node["variants"] if v["inStock"])
    token = graphql(port, "mutation { startSession { token } }")["startSession"]["token"]
    product = f'{{ product(slug: "{node["slug"]}") {{ id name priceFrom {{ amount currencyCode }} brand {{ name }} variants {{ sku size colour price {{ amount }} inStock }} }} }}'
    page = "{ products(first: 20%s) { totalCount edges { node { id name slug priceFrom { amount currencyCode } brand { name } variants { size colour inStock } } } } }"
    add = f'mutation {{ addToCart(variantId: "{variant}", quantity: 1) {{ cart {{ totalQuantity subtotal {{ amount }} }} userErrors {{ code }} }} }}'
    scenarios = [
        ("`product(slug)`, cache hit", "request", lambda: wrk(port, QUERY=product, ADDRESSES="4096")),
        ("`products(first: 20)`, cache hit", "request", lambda: wrk(port, QUERY=page % "", ADDRESSES="4096")),
        ("`products(first: 20)`, cache miss", "request", lambda: wrk(port, QUERY=page % ", filter: { minPrice: %d }", ADDRESSES="4096")),
        ("`addToCart`, one session", "request", lambda: wrk(port, QUERY=add, TOKEN=token, RESET_QUERY="mutation { clearCart { cart { totalQuantity } } }", RESET_EVERY="16")),
        ("shopper flow (32 shoppers, whole visits)", "request", lambda: loadgen(loadgen_binary, port, "--shoppers", "32")),
        ("checkout cycle (64 buyers: an add, then a checkout)", "order", lambda: loadgen(loadgen_binary, port, "--shoppers", "64", "--buy-only")),
    ]
    print(f"One instance, {CONNECTIONS} wrk connections or the load generator, {DURATION} a scenario; {os.cpu_count()} cores shared by server, stores and load")
    print()
    print("| scenario | per | per second | server CPU ms | worker CPU ms | PG statements (primary / replicas) | Redis round trips | PostgreSQL CPU ms | Redis CPU ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    notes = []
    for name, unit, run in scenarios:
        graphql(port, "{ __typename }")
        drained(admin_port)
        before = sample(admin_port, server_pid, worker_pid)
        requests, errors, seconds, orders = run()
        drained(admin_port)
        after = sample(admin_port, server_pid, worker_pid)
        count = orders if unit == "order" else requests
        if orders and unit == "request":
            notes.append(f"The {name.split(' (')[0]} placed {orders:,} orders, one per {requests / orders:.1f} requests.")
        per = {key: (after[key] - before[key]) / max(count, 1) for key in after}
        print(
            f"| {name} | {unit} | {count / seconds:,.0f} | {per['cpu'] * 1000:.3f} | {per['worker_cpu'] * 1000:.3f} | "
            f"{per['primary']:.2f} / {per['replicas']:.2f} | "
            f"{per['redis']:.2f} | {per['pg_cpu'] * 1000:.3f} | {per['redis_cpu'] * 1000:.3f} | {errors} |"
        )
    print()
    for note in notes:
        print(note)
    print(f"RSS after the scenarios: server {rss_mb(server_pid):.0f} MB, worker {rss_mb(worker_pid):.0f} MB")


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
