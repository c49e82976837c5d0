#!/usr/bin/env bash
# Makes sure Debian's poppler-utils (pdftotext, pdftoppm) is installed for
# the certificate tests, which read the PDFs they make the way a reader
# would. Installs the package when missing and this runs as root with apt
# available; otherwise says how, and those tests skip themselves.
set -u
if command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "certificate tests: installing Debian's poppler-utils package (once)" >&2
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -q poppler-utils >/tmp/iis-poppler-install.log 2>&1 ||
     { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q poppler-utils >/tmp/iis-poppler-install.log 2>&1; }; then
    exit 0
  fi
  echo "certificate tests: poppler-utils could not be installed (see /tmp/iis-poppler-install.log); the PDF reading tests will skip" >&2
  exit 0
fi
echo "certificate tests: no pdftotext/pdftoppm; install them (apt-get install poppler-utils); the PDF reading tests will skip" >&2
exit 0
