#!/usr/bin/env python3
"""Checks a running MyClothes instance the way a shopper's first visit uses it: readiness, a catalogue
read, a cart add as a guest, and the cart read back with the session's token.

    scripts/check-image.py http://127.0.0.1:PORT

Exits non-zero with what differed. Standard library only."""

import json
import sys
import time
import urllib.error
import urllib.request

READY_WITHIN_S = 30


def fail(message):
    sys.exit(f"[check-image] {message}")


def ready(base):
    deadline = time.monotonic() + READY_WITHIN_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2)
    fail(f"{base}/health/ready did not answer 200 within {READY_WITHIN_S} s")


def graphql(base, query, variables=None, token=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}/graphql", data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        reply = json.load(answer)
    if reply.get("errors"):
        fail(f"{query!r} answered errors: {reply['errors']}")
    return reply["data"]


def main(base):
    ready(base)
    listing = graphql(base, "{ products(first: 20) { edges { node { slug variants { id inStock } } } } }")
    in_stock = [
        (edge["node"]["slug"], variant["id"])
        for edge in listing["products"]["edges"]
        for variant in edge["node"]["variants"]
        if variant["inStock"]
    ]
    if not in_stock:
        fail("no variant of the first 20 products is in stock: is the stack seeded?")
    slug, variant = in_stock[0]
    added = graphql(
        base,
        "mutation($v: ID!) { addToCart(variantId: $v, quantity: 1) { token cart { totalQuantity } userErrors { code } } }",
        {"v": variant},
    )["addToCart"]
    if added["userErrors"] or added["cart"]["totalQuantity"] != 1:
        fail(f"addToCart answered {added}")
    cart = graphql(base, "{ cart { lines { variant { id } quantity } } }", token=added["token"])["cart"]
    if cart["lines"] != [{"variant": {"id": variant}, "quantity": 1}]:
        fail(f"the cart read back is {cart}")
    print(f"[check-image] ready; read {slug}; added {variant} to a guest cart and read it back")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1].rstrip("/"))
