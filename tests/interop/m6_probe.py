#!/usr/bin/env python3
"""Raw NTP mode 6/7 probes for tests/interop/test_mode6.sh: hand-made control requests to
one server in 127.0.0.0/8 or 198.18.0.0/15 (never anywhere else), reporting what, if
anything, comes back.

  m6_probe.py readstat SERVER   a READSTAT (version 2, as ntpq sends); prints the reply's
                                association IDs, exit 0 if answered, 1 if not
  m6_probe.py mode7 SERVER      an ntpdc-style mode 7 request; exit 0 if NOT answered
  m6_probe.py badop SERVER      opcode 30; exit 0 if the answer is an error with code 3
"""
import ipaddress
import os
import socket
import struct
import sys

PORT = 123
WAIT = 1.0  # seconds to wait for each reply


def check_target(server):
    addr = ipaddress.ip_address(server)
    allowed = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("198.18.0.0/15")]
    if not any(addr in net for net in allowed):
        sys.exit("refusing to probe %s: only loopback and 198.18.0.0/15" % server)


def control(opcode, seq, version=2, associd=0, data=b""):
    first = (version << 3) | 6
    return struct.pack("!BBHHHHH", first, opcode, seq, 0, associd, 0, len(data)) + data


def ask(server, payload):
    """Sends payload; returns the first datagram from server within WAIT s, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(payload, (server, PORT))
        sock.settimeout(WAIT)
        try:
            data, src = sock.recvfrom(4096)
        except socket.timeout:
            return None
    return data if src[0] == server else None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    cmd, server = sys.argv[1], sys.argv[2]
    check_target(server)
    seq = struct.unpack("!H", os.urandom(2))[0] | 1
    if cmd == "readstat":
        reply = ask(server, control(1, seq))
        if reply is None or len(reply) < 12:
            print("noreply")
            return 1
        count = struct.unpack("!H", reply[10:12])[0]
        ids = [struct.unpack("!H", reply[12 + i:14 + i])[0] for i in range(0, count, 4)]
        print("reply len=%d ids=%s" % (len(reply), ids))
        return 0
    if cmd == "mode7":
        # ntpdc's REQ_PEER_LIST: implementation 3 (XNTPD), request code 0.
        reply = ask(server, bytes([0x17, 0x00, 0x03, 0x00]) + bytes(4))
        print("noreply" if reply is None else "reply len=%d" % len(reply))
        return 0 if reply is None else 1
    if cmd == "badop":
        reply = ask(server, control(30, seq))
        if reply is None or len(reply) < 12:
            print("noreply")
            return 1
        _, op, rseq, status = struct.unpack("!BBHH", reply[:6])
        print("reply op=0x%02x seq=%d status=0x%04x" % (op, rseq, status))
        return 0 if op == 0xc0 | 30 and rseq == seq and status >> 8 == 3 else 1
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
