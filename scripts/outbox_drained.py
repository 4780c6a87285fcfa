#!/usr/bin/env python3
"""Waits until the worker tier has handled every event of the outbox, as an instance's admin listener
says on /metrics (`outbox_events{state="pending"}`; events given up on do not count), checking twice a
second; exits non-zero after WITHIN_S seconds (300) without it.

    scripts/outbox_drained.py ADMIN_PORT [WITHIN_S]
"""

import re
import sys
import time
import urllib.request


def wait(admin_port, within_s=300):
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as answer:
            pending = re.search(r'^outbox_events\{state="pending"\} ([\d.]+)$', answer.read().decode(), re.M)
        if pending and float(pending.group(1)) == 0:
            return
        time.sleep(0.5)
    sys.exit(f"[outbox] the worker left events unhandled for {within_s} s")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    wait(sys.argv[1], *map(float, sys.argv[2:]))
