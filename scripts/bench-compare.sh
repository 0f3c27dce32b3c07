#!/usr/bin/env bash
# zkts vs Apache ZooKeeper 3.8 on this machine, same driver, same workloads: prints a ratio table.
# Usage: scripts/bench-compare.sh [--workloads create,set,get,mixed,watch] [--duration S] [--zk-force-sync yes|no|both] ...
#        scripts/bench-compare.sh --ensemble 3 ...   (3-node ensembles of each kind, sessions spread over all servers)
#        scripts/bench-compare.sh --help
# Needs the Debian package `zookeeper` (jars in /usr/share/java) and java on PATH. Builds dist/ if it is missing.
# The servers run on free 127.0.0.1 ports with temp dataDirs and are killed at the end, on error and on Ctrl-C
# (ZKTS_KEEP_DIRS=1 keeps an ensemble's node directories, with each node's node.log).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -f dist/src/bench/compare.js || ! -f dist/src/cli/main.js ]]; then
  npx tsc -p . >&2 || true # tsc emits even with type errors elsewhere; the files checked above must exist
fi
if [[ ! -f dist/src/bench/compare.js ]]; then
  echo "bench-compare: dist/src/bench/compare.js missing after build" >&2
  exit 1
fi
exec node dist/src/bench/compare.js "$@"
