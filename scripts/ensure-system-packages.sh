#!/usr/bin/env bash
# Installs the Debian packages the tests run for real, when they are missing: dnsmasq (a DNS
# server), nginx (the scale-out test), microsocks (a SOCKS5 proxy), redis-server (the shared session
# store), chromium (the end-to-end tests; browsers cannot be downloaded by test tools here),
# python3-venv (the virtualenv the Qt differential suite installs PySide6 into, when Debian's python3
# cannot make one without it), dovecot-imapd (a real IMAP server offering STARTTLS), xvfb and x11vnc
# (a real VNC server on a virtual display, for noVNC through the websockify endpoint). Needs root
# and apt-get.
set -euo pipefail
need=()
if [ ! -x "$(dirname "$0")/../.cache/qt-venv/bin/python" ]; then
  probe=$(mktemp -d)
  if ! command -v python3 >/dev/null 2>&1; then need+=(python3 python3-venv)
  elif ! python3 -m venv "$probe/venv" >/dev/null 2>&1; then need+=(python3-venv); fi
  rm -rf "$probe"
fi
command -v dnsmasq >/dev/null 2>&1 || need+=(dnsmasq-base)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v microsocks >/dev/null 2>&1 || need+=(microsocks)
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] || need+=(dovecot-imapd)
command -v Xvfb >/dev/null 2>&1 || need+=(xvfb)
command -v x11vnc >/dev/null 2>&1 || need+=(x11vnc)
command -v xev >/dev/null 2>&1 || need+=(x11-utils)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the tests: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "the tests need these Debian packages: ${need[*]} (apt-get install ${need[*]})" >&2
  exit 1
fi
