#!/usr/bin/env bash
# Re-records the golden client-port frames in test/fixtures/golden/ from Apache ZooKeeper 3.8 and real clients
# (Java 3.8 client, kazoo, cli_mt, hand-built frames). Not run by the test suite.
# Usage: scripts/capture/capture.sh [java|kazoo|cmt|raw ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p . >/dev/null || true   # emits even when unrelated files have type errors
node dist/test/protocol/capture/main.js --capture "$@"
