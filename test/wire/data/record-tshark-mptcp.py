#!/usr/bin/env python3
"""Record tshark's MPTCP option decoding of a few Linux captures into test/wire/data/*.tshark-mptcp.json.

Run from the repository root (needs tshark; the test suite itself never runs it):
    python3 test/wire/data/record-tshark-mptcp.py
Each JSON holds the exact tshark command, the tshark version, and per MPTCP option the leaf fields of
tshark's `mptcp` option tree (raw values as tshark prints them). Selection: every non-DSS option,
plus the DSS options of the first 150 and the last 50 frames that carry one (a sample; DSS is on
nearly every packet).
"""
import json
import os
import shlex
import subprocess
import sys

CAPTURES = [
    "02-add-addr.client.pcap",
    "04-backup-prio.client.pcap",
    "15b-csum-corrupt-2sf.client.pcap",
]
SHARED = "../shared/captures/linux"
OUT_DIR = "test/wire/data"
DSS_HEAD = 150
DSS_TAIL = 50


def leaves(node, out):
    for k, v in node.items():
        if isinstance(v, dict):
            leaves(v, out)
        elif isinstance(v, list):
            out[k] = v
        else:
            out[k] = v


def main():
    version = subprocess.run(["tshark", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    for name in CAPTURES:
        path = os.path.join(SHARED, name)
        cmd = ["tshark", "-r", path, "-Y", "tcp.options.mptcp.subtype", "-T", "json", "--no-duplicate-keys"]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        packets = json.loads(res.stdout)
        rows = []
        for p in packets:
            layers = p["_source"]["layers"]
            frame = int(layers["frame"]["frame.number"])
            tree = layers["tcp"].get("tcp.options_tree", {})
            opts = tree.get("mptcp", [])
            if isinstance(opts, dict):
                opts = [opts]
            for i, o in enumerate(opts):
                f = {}
                leaves(o, f)
                rows.append({"frame": frame, "index": i, "fields": f})
        dss_frames = sorted({r["frame"] for r in rows if r["fields"].get("tcp.options.mptcp.subtype") == "2"})
        keep_dss = set(dss_frames[:DSS_HEAD]) | set(dss_frames[-DSS_TAIL:])
        sel = [r for r in rows if r["fields"].get("tcp.options.mptcp.subtype") != "2" or r["frame"] in keep_dss]
        doc = {
            "source": os.path.join("shared/captures/linux", name),
            "tshark": version,
            "commands": [" ".join(shlex.quote(c) for c in cmd)],
            "selection": f"every non-DSS MPTCP option; DSS options of the first {DSS_HEAD} and last {DSS_TAIL} frames carrying one",
            "options": sel,
        }
        out = os.path.join(OUT_DIR, name + ".tshark-mptcp.json")
        with open(out, "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.write("\n")
        print(f"{out}: {len(sel)} options ({len(rows)} decoded by tshark)", file=sys.stderr)


if __name__ == "__main__":
    main()
