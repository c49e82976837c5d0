#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the console's browser test
# (cmd/iisd TestConsoleInBrowser). Installs the package when missing and
# this runs as root with apt available; otherwise says how, and the test
# skips itself.
set -u
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || [ -n "${IIS_CHROMIUM:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser tests: installing Debian's chromium package (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -q chromium >/tmp/iis-chromium-install.log 2>&1 ||
     { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/tmp/iis-chromium-install.log 2>&1; }; then
    exit 0
  fi
  echo "browser tests: chromium could not be installed (see /tmp/iis-chromium-install.log); TestConsoleInBrowser will skip" >&2
  exit 0
fi
echo "browser tests: no Chromium; install it (apt-get install chromium) or set IIS_CHROMIUM; TestConsoleInBrowser will skip" >&2
exit 0
