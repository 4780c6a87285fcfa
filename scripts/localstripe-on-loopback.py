"""Runs localstripe (from PyPI: a stateful fake Stripe server, written by others) for the local stack:
on 127.0.0.1 only, and in memory only. Its own start-up listens on every interface and writes its whole
state to /tmp/localstripe.pickle after every change, which slows each write as the state grows.

    python3 scripts/localstripe-on-loopback.py PORT
"""
import sys

from aiohttp import web
from localstripe import resources, server

resources.store.dump_to_disk = lambda: None
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
