#!/usr/bin/env bash
# Sets up mptcpscope on a fresh Debian/Ubuntu machine, as root: system packages, npm packages, build.
# Idempotent: packages already present are not reinstalled. Usage: bash setup.sh
set -euo pipefail
cd "$(dirname "$0")"

# libpcap-dev, make, g++, python3: build of the `cap` native addon (live capture).
# tcpdump, iproute2, iptables, procps, python3: real-kernel fixture generator and lab (network namespaces).
# tmux: end-to-end TUI test. tshark: reference tool for fixture sidecars and benchmarks (tests do not need it).
PKGS=(libpcap-dev make g++ python3 tcpdump iproute2 iptables procps tmux tshark gzip)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing Debian packages (${missing[*]}); run as root or install them first" >&2
    exit 1
  fi
  echo "setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
