#!/usr/bin/env python3
"""A tiny stand-in for tsyncd's control socket (doc/control.md) for the tsync CLI tests:
it listens on a Unix socket, reads one request line per connection and answers canned
JSON for it, as the protocol document shows. The scenario (argv[2]) picks the status
answer (ok, warn, crit, unsync, unsync_recent, noreach, never) or a broken daemon
(badjson, huge, error). Bounded: it exits after --max-conn connections or --lifetime
seconds, whichever comes first."""
import argparse
import json
import os
import socket
import sys
import time

NOW = time.time()

STATUS = {"synchronized": True, "since": 1795000000.5, "offset": -2.1e-06, "bound": 0.000412,
          "stratum": 2, "reference": "198.18.0.1", "leap": "none", "sources_reachable": 3,
          "sources": 4}

TRACKING = {"reference_id": "C6120001", "reference_name": "198.18.0.1", "stratum": 2,
            "reference_time": 1795000123.25, "system_time_offset": -2.1e-06,
            "last_offset": -1.9e-06, "rms_offset": 3.2e-06, "frequency_ppm": -10.031,
            "residual_frequency_ppm": 0.002, "skew_ppm": 0.011, "root_delay": 0.000214,
            "root_dispersion": 0.000305, "update_interval": 64.2, "leap": "none",
            "bound": 0.000412, "synchronized": True, "steps": 1}

SOURCES = {"sources": [
    {"name": "ntp1.example.net", "address": "198.18.0.1", "tally": "*", "state": "selected",
     "type": "u", "stratum": 1, "refid": "GPS", "when": 12.5, "poll": 6, "reach": 255,
     "delay": 0.000211, "offset": -3.6e-06, "jitter": 8.1e-06, "leap": "none"},
    {"name": "127.0.0.1", "address": "127.0.0.1", "tally": "+", "state": "candidate",
     "type": "u", "stratum": 2, "refid": "198.18.0.9", "when": 5000, "poll": 10, "reach": 127,
     "delay": 0.025123, "offset": 0.001234, "jitter": 0.000789, "leap": "none"},
    {"name": "2.debian.pool.ntp.org", "address": None, "tally": " ", "state": "pool",
     "type": "p", "stratum": 16, "refid": "POOL", "when": None, "poll": 6, "reach": 0,
     "delay": None, "offset": None, "jitter": None, "leap": "unsynchronized"},
    {"name": "198.18.0.7", "address": "198.18.0.7", "tally": "x", "state": "falseticker",
     "type": "u", "stratum": 3, "refid": "RATE", "when": 300000, "poll": 12, "reach": 1,
     "delay": 1.5, "offset": -1234.5678, "jitter": 0.25, "leap": "none"},
]}

SOURCESTATS = {"sources": [
    {"name": "ntp1.example.net", "address": "198.18.0.1",
     "replies": {"ok": 120, "stale": 0, "wrong_sender": 0, "bogus": 0, "duplicate": 2,
                 "kod": 0},
     "offset": -3.6e-06, "jitter": 8.1e-06, "delay": 0.000211},
    {"name": "2.debian.pool.ntp.org", "address": None, "replies": {"ok": 0},
     "offset": None, "jitter": None, "delay": None}]}

SERVERSTATS = {"requests": {"answered": 1024, "kod_rate": 3, "rate_limited": 10, "denied": 2,
                            "too_short": 0, "bad_version": 0, "bad_mode": 0, "malformed": 0},
               "clients_seen": 12, "datagrams": {"received": 1039, "sent": 1027,
                                                 "send_failed": 0}}

SCENARIO_STATUS = {
    "ok": {},
    "warn": {"offset": 0.3},
    "crit": {"offset": -2.5},
    "unsync": {"synchronized": False, "since": NOW - 4000, "offset": None},
    "unsync_recent": {"synchronized": False, "since": NOW - 30},
    "noreach": {"sources_reachable": 0},
    "never": {"synchronized": False, "since": None},
}


def answer(scenario, line):
    words = line.split()
    if scenario == "badjson":
        return b'{"synchronized":tru'
    if scenario == "huge":
        return b'{"x":"' + b"a" * (3 * 1024 * 1024) + b'"}\n'
    if scenario == "error" or not words:
        return b'{"error":"bad_request","message":"empty request"}\n'
    cmd = words[0]
    if cmd == "status":
        status = dict(STATUS)
        status.update(SCENARIO_STATUS.get(scenario, {}))
        body = status
    elif cmd == "tracking":
        body = TRACKING
    elif cmd == "sources":
        body = SOURCES
    elif cmd == "sourcestats":
        body = SOURCESTATS
    elif cmd == "serverstats":
        body = SERVERSTATS
    elif cmd == "makestep" and len(words) == 1:
        body = {"ok": True, "message": "the next correction will be a step"}
    elif cmd == "reload" and len(words) == 1:
        body = {"ok": True, "added": 1, "removed": 2}
    elif cmd in ("online", "offline") and len(words) <= 2:
        if len(words) == 2 and words[1] != "ntp1.example.net":
            body = {"error": "unknown_source", "message": "no source named " + words[1]}
        else:
            body = {"ok": True, "sources": 1 if len(words) == 2 else 4}
    else:
        body = {"error": "unknown_command", "message": "unknown command " + cmd}
    return (json.dumps(body, separators=(",", ":")) + "\n").encode()


def read_line(conn):
    data = b""
    conn.settimeout(2.0)
    while b"\n" not in data and len(data) <= 257:
        chunk = conn.recv(512)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n")[0].decode("ascii", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("scenario")
    ap.add_argument("--max-conn", type=int, default=100)
    ap.add_argument("--lifetime", type=float, default=60.0)
    ap.add_argument("--log", default=None, help="append each request line to this file")
    args = ap.parse_args()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.socket)
    srv.listen(4)
    deadline = time.monotonic() + args.lifetime
    for _ in range(args.max_conn):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        srv.settimeout(left)
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        with conn:
            try:
                line = read_line(conn)
                if args.log:
                    with open(args.log, "a") as f:
                        f.write(line + "\n")
                conn.sendall(answer(args.scenario, line))
            except OSError:
                pass
    srv.close()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    return 0


if __name__ == "__main__":
    sys.exit(main())
