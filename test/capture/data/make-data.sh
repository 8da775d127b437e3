#!/usr/bin/env bash
# Makes the capture-layer test data in this directory. Run from the repository root:
#   bash test/capture/data/make-data.sh
# Needs editcap, tshark, capinfos (Wireshark 4.0.17 was used), gzip, python3, node + npx tsc.
# The test suite itself never runs these tools; it reads the files and the *.tshark.json sidecars.
set -euo pipefail
ROOT=$(pwd)
D=$ROOT/test/capture/data
S=$ROOT/../shared/captures/linux
T=$(mktemp -d)
J=$ROOT/dist/.make-capture-data   # inside the repo so node resolves node_modules (dist/ is git-ignored)
trap 'rm -rf "$T" "$J"' EXIT
cd "$D"
rm -f ./*.pcap ./*.pcapng ./*.gz ./*.tshark.json

# --- made by Wireshark tools (independent of this package) ---
editcap -F pcap -r "$S/01-basic.client.pcap" basic200.pcap 1-200           # µs, little-endian, LINUX_SLL2, snaplen 200
editcap -F nsecpcap basic200.pcap basic200.ns.pcap                  # ns pcap, little-endian
editcap -F pcapng -a '3:first frame comment' -a '10:ünïcödé comment' basic200.pcap basic200.pcapng
editcap -F pcapng basic200.ns.pcap basic200.ns.pcapng               # IDB if_tsresol = 9
editcap -r "$S/01-basic.server.pcapng" server20.pcapng 1-20         # Ethernet, pcapng
editcap -r basic200.ns.pcapng "$T/ns50.pcapng" 1-50
cat server20.pcapng "$T/ns50.pcapng" > two-sections.pcapng          # 2 sections (Ethernet µs, SLL2 ns)
gzip -9 -n -c basic200.pcap > basic200.pcap.gz
gzip -9 -n -c two-sections.pcapng > two-sections.pcapng.gz

# --- made by this package's writers (checked against tshark through the sidecars below) ---
npx tsc --target es2022 --module nodenext --moduleResolution nodenext --strict --skipLibCheck \
  --outDir "$J" --rootDir "$ROOT" \
  "$ROOT"/analyzer/issue.ts "$ROOT"/analyzer/capture/*.ts "$D/make-variants.ts"
node "$J/test/capture/data/make-variants.js" "$D"                # basic200.be.pcap, basic200.ns.be.pcap, blocks.pcapng

# --- sidecars: what tshark/capinfos say about each file (and about the shared real captures) ---
sidecar() { # $1 = file to read, $2 = sidecar name, $3 = source description
  python3 - "$1" "$2" "$3" <<'PY'
import json, subprocess, sys
path, out, source = sys.argv[1:4]
ver = subprocess.run(['tshark', '--version'], capture_output=True, text=True).stdout.splitlines()[0]
fields = ['frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.interface_id', 'frame.comment']
cmd = ['tshark', '-r', path, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|'] + sum((['-e', f] for f in fields), [])
rows = [l.split('\t') for l in subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()]
cap = subprocess.run(['capinfos', '-M', '-c', '-t', '-E', '-l', '-F', path], capture_output=True, text=True).stdout
frames = []
for r in rows:
    frames.append({'n': int(r[0]), 'time': r[1], 'len': int(r[2]), 'capLen': int(r[3]),
                   'iface': int(r[4]) if r[4] else 0, 'comment': r[5] if len(r) > 5 and r[5] else None})
show = [c for c in cmd]
show[2] = source
doc = {
  'file': source,
  'tshark': ver,
  'commands': [' '.join(show), f'capinfos -M -c -t -E -l -F {source}'],
  'capinfos': [l.strip() for l in cap.splitlines() if ':' in l],
  'totals': {'frames': len(frames), 'sumLen': sum(f['len'] for f in frames), 'sumCapLen': sum(f['capLen'] for f in frames),
             'firstTime': frames[0]['time'] if frames else None, 'lastTime': frames[-1]['time'] if frames else None},
  'frames': frames[:60],
}
json.dump(doc, open(out, 'w'), indent=1, ensure_ascii=False)
open(out, 'a').write('\n')
PY
}
for f in basic200.pcap basic200.ns.pcap basic200.pcapng basic200.ns.pcapng server20.pcapng two-sections.pcapng \
         basic200.pcap.gz basic200.be.pcap basic200.ns.be.pcap blocks.pcapng; do
  sidecar "$f" "$f.tshark.json" "$f"
done
for f in 01-basic.client.pcap 01-basic.server.pcapng 07a-mbox-strip-synack.router.pcapng 05-checksum.server.pcap; do
  sidecar "$S/$f" "shared-$f.tshark.json" "../shared/captures/linux/$f"
done
for f in "$ROOT"/../shared/captures/public/tcpdump/*.pcap; do
  b=$(basename "$f")
  sidecar "$f" "tcpdump-$b.tshark.json" "../shared/captures/public/tcpdump/$b"
done
ls -la "$D"
