#!/usr/bin/env python3
"""Prints what NTPsec's own ntpq -pn formatter (python3-ntp's ntp.util.PeerSummary)
makes of the fake daemon's sources, so the CLI test can compare `tsync -n sources`
with it byte for byte. Each source becomes the mode 6 variables NTPsec's ntpd would
send for it: srcadr/srchost, refid, stratum, hmode 3, poll, reach, rec, and
delay/offset/jitter in ms with 6 decimals (NTPsec's ctl_putdbl6).
Usage: ntpq_reference.py [DIR_WITH_ntp_PACKAGE]; exit 77 when python3-ntp is missing."""
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
for d in sys.argv[1:] + ["/usr/lib/python3/dist-packages",
                         "/var/cache/tsync-peers/ntpsec/usr/lib/python3/dist-packages"]:
    if os.path.isdir(os.path.join(d, "ntp")):
        sys.path.append(d)
        break
try:
    import ntp.util
except ImportError:
    print("python3-ntp (NTPsec's ntp.util) not found", file=sys.stderr)
    sys.exit(77)

import fake_tsyncd

TALLY = " x.-+#*o"


def variables(src):
    """The (value, rawvalue) pairs ntpq would have parsed from READVAR."""
    v = {}
    v["srcadr"] = (src["address"] or "0.0.0.0", src["address"] or "0.0.0.0")
    v["srchost"] = (src["name"], src["name"])
    v["refid"] = (src["refid"], src["refid"])
    v["stratum"] = (src["stratum"], str(src["stratum"]))
    v["hmode"] = (3, "3")
    v["hpoll"] = (src["poll"], str(src["poll"]))
    v["ppoll"] = (src["poll"], str(src["poll"]))
    v["reach"] = (src["reach"], hex(src["reach"]))
    if src["when"] is not None:
        rec = time.time() - src["when"]
        v["rec"] = (rec, repr(rec))
    for key in ("delay", "offset", "jitter"):
        ms = (src[key] or 0.0) * 1e3
        v[key] = (ms, "%.6f" % ms)
    return v


def main():
    # rec is given as a float already; the C l_fp conversion is not needed.
    ntp.ntpc.lfptofloat = lambda x: x
    summary = ntp.util.PeerSummary("peers", pktversion=2, showhostnames=0, wideremote=False,
                                   termwidth=80)
    out = summary.header() + "\n" + "=" * summary.width() + "\n"
    for i, src in enumerate(fake_tsyncd.SOURCES["sources"]):
        rstatus = TALLY.index(src["tally"]) << 8
        out += summary.summary(rstatus, variables(src), i + 1)
    sys.stdout.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
