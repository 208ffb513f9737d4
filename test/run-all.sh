#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, builds, lints, then runs
# unit and integration tests against a real dockerd and a real Kafka broker (started here
# unless DOCKER_HOST / SHIPLOG_KAFKA_BROKERS name running ones).
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/env/install-deps.sh
# As users' CI installs: exactly the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then npm ci --no-audit --no-fund; fi
bash test/env/kafka.sh fetch
npm run build
npm run lint
npx tsc -p tsconfig.test.json
npx tsc -p web/tsconfig.json
# Vitest's JSON report too, for one plain closing line (test/env/summary.mjs).
report="$(mktemp -d)/vitest.json"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
node test/env/summary.mjs "$report" || { [ "$status" -ne 0 ] || status=1; }
exit "$status"
