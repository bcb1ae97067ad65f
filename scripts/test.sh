#!/usr/bin/env bash
# The one command that runs every test on a fresh machine (the README's test command; CI calls it).
# It installs what the tests need that a fresh machine may lack, builds everything (the tests load
# the plugin .so files and run the docket binary that `swift build` leaves in .build/debug), then
# runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
if ! need cc || ! need c++; then
  echo "test.sh: installing a C and C++ compiler (the ABI tests build plugins with them)" >&2
  apt-get update -qq && apt-get install -y -qq gcc g++ >/dev/null
fi
need aws || python3 -m pip install -q awscli                                # the API suite drives the real aws CLI
python3 -c 'import boto3' 2>/dev/null || python3 -m pip install -q boto3   # ... and boto3

# The Docker executor's tests need a running engine and the test image: installed, started and
# built here when missing. If that fails, those tests skip, or fail with CI=true, saying why.
bash scripts/docker-engine.sh || echo "test.sh: no Docker engine; the Docker tests will skip, or fail with CI=true" >&2

swift build
# Every test server logs the operations it answers here; the conformance report reads them.
export DOCKET_OPERATION_LOG_DIR="$PWD/.build/operation-log"
rm -rf "$DOCKET_OPERATION_LOG_DIR" && mkdir -p "$DOCKET_OPERATION_LOG_DIR"
# The suites are XCTest; without this flag Swift Testing's runner prints a closing "0 tests"
# line after XCTest's summary.
swift test --disable-swift-testing "$@"
bash Tests/api/run.sh   # the real aws CLI and boto3 against real servers (Tests/api)
# Fails when an operation Docket implements was not answered successfully by any test.
python3 scripts/conformance.py "$DOCKET_OPERATION_LOG_DIR" docs/conformance.md
