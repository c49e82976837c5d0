#!/usr/bin/env bash
# Installs the npm package fhir-kit-client (a FHIR client we did not
# write) into var/node (or $IIS_NODE_DIR) for the FHIR API's third-party
# client test (fhirapi TestThirdPartyClient). Without node or npm it says
# so and the test skips itself.
set -u
dir="${IIS_NODE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/var/node}"
version=2.0.3
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "fhir client test: no node/npm; install Node.js to run TestThirdPartyClient (it will skip)" >&2
  exit 0
fi
if [ -f "$dir/node_modules/fhir-kit-client/package.json" ]; then
  exit 0
fi
mkdir -p "$dir"
echo "fhir client test: installing fhir-kit-client@$version into $dir (once)" >&2
if ! npm install --prefix "$dir" --no-audit --no-fund --silent "fhir-kit-client@$version" >/tmp/iis-fhir-kit-install.log 2>&1; then
  echo "fhir client test: npm install failed (see /tmp/iis-fhir-kit-install.log); TestThirdPartyClient will skip" >&2
fi
exit 0
