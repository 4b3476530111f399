"""Probes for tests/interop/test_metrics.sh (run inside the client namespace).

  metrics_probe.py query URL PROMQL   prints the values of an instant query, one a line
                                      as "{labels} value" (Prometheus HTTP API)
  metrics_probe.py raw HOST PORT CASE  sends one crafted request to tsyncd's endpoint and
                                      prints the status line of the answer (or "closed")
  metrics_probe.py series FILE        prints the sorted "name{labels}" of an exposition
Every socket has a timeout; nothing here loops without a bound.
"""
import json
import os
import socket
import sys
import urllib.parse
import urllib.request


def query(url, promql):
    q = urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=5) as r:
        doc = json.load(r)
    if doc.get("status") != "success":
        sys.exit(f"query failed: {doc}")
    for s in doc["data"]["result"]:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s["metric"].items()))
        print(f"{{{labels}}} {s['value'][1]}")


CASES = {
    "post": b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    "delete": b"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "other_path": b"GET /debug HTTP/1.1\r\nHost: x\r\n\r\n",
    "big_header": b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n",
    "garbage": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(range(256)) * 4,
    "no_host": b"GET /metrics HTTP/1.1\r\n\r\n",
    "half": b"GET /metr",
    "get": b"GET /metrics HTTP/1.0\r\n\r\n",
}


def raw(host, port, case):
    s = socket.create_connection((host, int(port)), timeout=8)
    try:
        try:
            s.sendall(CASES[case])
        except OSError:
            pass  # the server may answer and close before taking everything
        if case == "half":
            s.shutdown(socket.SHUT_WR)
        data = b""
        while len(data) < 1 << 20:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    print(data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed")
    if case in ("big_header", "garbage", "post") and len(data) > 400:
        sys.exit(f"{case}: answer of {len(data)} bytes")


def series(path):
    names = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            names.add(line.rsplit(" ", 1)[0])
    print("\n".join(sorted(names)))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "query":
        query(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "raw":
        raw(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "series":
        series(sys.argv[2])
    else:
        sys.exit(__doc__)
    sys.stdout.flush()
    os._exit(0)
