#!/usr/bin/env bash
# Runs the API suite: the real aws CLI (awscli 1.x) and boto3 against real `docket server`
# processes, one per test class. Needs .build/debug/docket (run `swift build` first) or
# $DOCKET_BINARY; with $DOCKET_OPERATION_LOG_DIR set, every server logs the operations it answered
# there. Extra arguments go to unittest (e.g. -k list_jobs).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 -m unittest discover -s Tests/api -t . -v "$@"
