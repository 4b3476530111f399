#!/usr/bin/env python3
"""Raw NTP probes for the interop tests: sends hand-made datagrams to one server in
198.18.0.0/15 (never anywhere else) and reports what, if anything, comes back.

  ntp_probe.py query SERVER      one plain v4 client request; exit 0 if answered
  ntp_probe.py malformed SERVER  short, bad-version, wrong-mode and oversized packets;
                                 exit 0 if none of them is answered
  ntp_probe.py extfield SERVER   a client request with a 28-byte unknown extension
                                 field (RFC 7822); exit 0 if the answer is a plain
                                 48-byte reply to it (never larger than the request)
"""
import ipaddress
import os
import socket
import struct
import sys

PORT = 123
WAIT = 1.0  # seconds to wait for a reply to each probe


def header(li_vn_mode, tx=None):
    """48-byte NTP header: first byte given, everything else zero but the transmit
    timestamp, which is random so a reply can be matched to its request."""
    tx = os.urandom(8) if tx is None else tx
    return bytes([li_vn_mode]) + bytes(39) + tx


def first_byte(version, mode, leap=3):
    return (leap << 6) | (version << 3) | mode


def send_and_wait(sock, server, payload, wait=WAIT):
    """Sends payload; returns the first datagram received within wait s, or None."""
    sock.sendto(payload, (server, PORT))
    sock.settimeout(wait)
    try:
        data, src = sock.recvfrom(4096)
    except socket.timeout:
        return None
    if src[0] != server:
        return None
    return data


def describe(reply):
    if reply is None:
        return "noreply"
    if len(reply) < 48:
        return "reply len=%d (short)" % len(reply)
    mode = reply[0] & 7
    version = (reply[0] >> 3) & 7
    return "reply len=%d version=%d mode=%d stratum=%d refid=%r" % (
        len(reply), version, mode, reply[1], reply[12:16])


def ext_field(ftype, length):
    """RFC 7822 extension field: type, length (header included), zero padding."""
    return struct.pack("!HH", ftype, length) + bytes(length - 4)


def malformed_cases():
    v4c = first_byte(4, 3)
    junk_ext = b"\xff" * (1000 - 48)  # length 0xffff: runs past the datagram
    return [
        ("empty", b""),
        ("1-byte", bytes([v4c])),
        ("12-byte", header(v4c)[:12]),
        ("47-byte", header(v4c)[:47]),
        ("version-0", header(first_byte(0, 3))),
        ("version-5", header(first_byte(5, 3))),
        ("version-7", header(first_byte(7, 3))),
        ("mode-0", header(first_byte(4, 0))),
        ("mode-2", header(first_byte(4, 2))),
        ("mode-4", header(first_byte(4, 4))),
        ("mode-5", header(first_byte(4, 5))),
        # mode 6 read-status request: control queries are for localhost only.
        ("mode-6", bytes([first_byte(2, 6, 0), 1]) + bytes(10)),
        # mode 7 (ntpdc) request: never answered; it was an amplification vector.
        ("mode-7", bytes([first_byte(2, 7, 0) | 0x80, 0, 3, 42]) + bytes(44)),
        ("1000-byte", header(v4c) + junk_ext),
        ("odd-ext-length", header(v4c) + struct.pack("!HH", 0x7f01, 30) + bytes(26)),
    ]


def cmd_query(sock, server):
    reply = send_and_wait(sock, server, header(first_byte(4, 3)))
    print(describe(reply))
    return 0 if reply is not None else 1


def cmd_malformed(sock, server):
    answered = 0
    for name, payload in malformed_cases():
        reply = send_and_wait(sock, server, payload, WAIT / 2)
        print("case=%s sent=%d %s" % (name, len(payload), describe(reply)))
        answered += reply is not None
    return 0 if answered == 0 else 1


def cmd_extfield(sock, server):
    tx = os.urandom(8)
    request = header(first_byte(4, 3, 0), tx) + ext_field(0x7f02, 28)
    reply = send_and_wait(sock, server, request)
    print("sent=%d %s" % (len(request), describe(reply)))
    if reply is None or len(reply) != 48 or reply[0] & 7 != 4 or reply[24:32] != tx:
        return 1
    return 0


def main(argv):
    if len(argv) != 3 or argv[1] not in ("query", "malformed", "extfield"):
        sys.stderr.write(__doc__)
        return 2
    server = argv[2]
    if ipaddress.ip_address(server) not in ipaddress.ip_network("198.18.0.0/15"):
        sys.stderr.write("ntp_probe: refusing %s: only 198.18.0.0/15\n" % server)
        return 2
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return {"query": cmd_query, "malformed": cmd_malformed,
                "extfield": cmd_extfield}[argv[1]](sock, server)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
