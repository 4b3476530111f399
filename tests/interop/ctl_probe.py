#!/usr/bin/env python3
"""A small client of tsyncd's control socket (doc/control.md) for the tests.

  ctl_probe.py ask SOCKET REQUEST     sends REQUEST (Python escapes allowed, e.g. "status\\n")
                                      and prints the answer; exit 0, 3 on EACCES, 4 on
                                      another connect error
  ctl_probe.py shapes SOCKET          checks every read command's answer has the keys and
                                      types doc/control.md lists; prints what is wrong
  ctl_probe.py garbage SOCKET N SEED  N connections with random bytes; every answer must be
                                      one JSON object with an error code (or a valid answer)
"""
import json
import random
import socket
import sys

NUM = (int, float)
NUM_OR_NULL = (int, float, type(None))
STR_OR_NULL = (str, type(None))
ERRORS = {"too_long", "bad_request", "unknown_command", "not_permitted", "unknown_source",
          "busy", "timeout", "failed"}

SHAPES = {
    "status": {"synchronized": bool, "since": NUM_OR_NULL, "offset": NUM_OR_NULL,
               "bound": NUM, "stratum": int, "reference": STR_OR_NULL, "leap": str,
               "sources_reachable": int, "sources": int},
    "tracking": {"reference_id": str, "reference_name": STR_OR_NULL, "stratum": int,
                 "reference_time": NUM_OR_NULL, "system_time_offset": NUM_OR_NULL,
                 "last_offset": NUM_OR_NULL, "rms_offset": NUM_OR_NULL,
                 "frequency_ppm": NUM, "residual_frequency_ppm": NUM,
                 "skew_ppm": NUM_OR_NULL, "root_delay": NUM, "root_dispersion": NUM,
                 "update_interval": NUM_OR_NULL, "leap": str, "bound": NUM,
                 "synchronized": bool, "steps": int},
    "serverstats": {"requests": dict, "clients_seen": int, "datagrams": dict},
}
SOURCE = {"name": str, "address": STR_OR_NULL, "tally": str, "state": str, "type": str,
          "stratum": int, "refid": STR_OR_NULL, "when": NUM_OR_NULL, "poll": int,
          "reach": int, "delay": NUM_OR_NULL, "offset": NUM_OR_NULL,
          "jitter": NUM_OR_NULL, "leap": str, "offline": bool}
SOURCESTATS = {"name": str, "address": STR_OR_NULL, "replies": dict,
               "offset": NUM_OR_NULL, "jitter": NUM_OR_NULL, "delay": NUM_OR_NULL}
STATES = {"selected", "candidate", "outlier", "falseticker", "backup", "excess",
          "rejected", "unresolved", "pool", "denied"}


def ask(path, data, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)  # the end of the stream ends a line without newline
    except (BrokenPipeError, ConnectionResetError):
        pass  # the daemon answered and closed early (a line too long): read the answer
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    s.close()
    return out


def check_keys(obj, shape, where):
    bad = []
    for k, t in shape.items():
        if k not in obj:
            bad.append(f"{where}: missing {k}")
        elif not isinstance(obj[k], t) or (t is int and isinstance(obj[k], bool)):
            bad.append(f"{where}: {k} has {type(obj[k]).__name__} {obj[k]!r}")
    return bad


def one_object(raw, where):
    if not raw.endswith(b"\n") or raw.count(b"\n") != 1:
        raise ValueError(f"{where}: not exactly one line: {raw[:200]!r}")
    obj = json.loads(raw)
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: not an object")
    return obj


def shapes(path):
    bad = []
    for cmd, shape in SHAPES.items():
        bad += check_keys(one_object(ask(path, cmd.encode() + b"\n"), cmd), shape, cmd)
    for cmd, shape in (("sources", SOURCE), ("sourcestats", SOURCESTATS)):
        obj = one_object(ask(path, cmd.encode() + b"\n"), cmd)
        if not isinstance(obj.get("sources"), list) or not obj["sources"]:
            bad.append(f"{cmd}: no sources list")
            continue
        for i, s in enumerate(obj["sources"]):
            bad += check_keys(s, shape, f"{cmd}[{i}]")
            if cmd == "sources" and s.get("state") not in STATES:
                bad.append(f"{cmd}[{i}]: state {s.get('state')!r}")
            if cmd == "sources" and s.get("tally") not in list("*+-x#. "):
                bad.append(f"{cmd}[{i}]: tally {s.get('tally')!r}")
    for b in bad:
        print(b)
    return 1 if bad else 0


def garbage(path, n, seed):
    rng = random.Random(seed)
    words = [b"status", b"sources", b"online", b"offline", b"reload", b" ", b"\n", b"\r",
             b"\x00", b"\xff", b"{", b"\"", b"makestep"]
    for i in range(n):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
        else:
            data = b"".join(rng.choice(words) for _ in range(rng.randrange(1, 40)))
        raw = ask(path, data)
        obj = one_object(raw, f"garbage {i} ({data[:40]!r})")
        if "error" in obj and obj["error"] not in ERRORS:
            print(f"garbage {i}: unknown error code {obj['error']!r}")
            return 1
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "ask":
        data = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
        try:
            sys.stdout.write(ask(sys.argv[2], data).decode("ascii", "replace"))
        except PermissionError:
            return 3
        except OSError as e:
            print(e, file=sys.stderr)
            return 4
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "shapes":
        return shapes(sys.argv[2])
    if len(sys.argv) == 5 and sys.argv[1] == "garbage":
        return garbage(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
