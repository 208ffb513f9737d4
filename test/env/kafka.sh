#!/usr/bin/env bash
# Start or stop a single-node Apache Kafka 4.x (KRaft) broker on 127.0.0.1 for the tests.
#   kafka.sh fetch                  download the broker jars from Maven Central (cached)
#   kafka.sh jars                   print the folder holding them (fetching first)
#   kafka.sh start <dir> <port>     start a broker with its data in <dir>; prints 127.0.0.1:<port>
#   kafka.sh stop <dir>             stop the broker started in <dir> (by pid) and remove <dir>
# Jars are cached in ${SHIPLOG_TEST_CACHE:-~/.cache/shiplog-test}/kafka-<version>/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=kafka-props.sh
. "$here/kafka-props.sh"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache=${SHIPLOG_TEST_CACHE:-$HOME/.cache/shiplog-test}
# The pom's content names the cache, so a changed dependency list fetches anew.
jars="$cache/kafka-$version-$(sha1sum "$here/kafka/pom.xml" | cut -c1-8)"

fetch() {
  if [ -f "$jars/.complete" ]; then return; fi
  command -v java >/dev/null || { echo "kafka.sh: java (17+) is needed" >&2; exit 1; }
  command -v mvn >/dev/null || { echo "kafka.sh: maven is needed to fetch the Kafka jars" >&2; exit 1; }
  echo "kafka.sh: fetching Apache Kafka $version jars into $jars" >&2
  mkdir -p "$jars"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$jars" >&2
  touch "$jars/.complete"
}

start() {
  local dir=${1:?dir} port=${2:?port}
  fetch
  mkdir -p "$dir/data"
  local cport=$((port + 1))
  { node_props 1 "1@127.0.0.1:$cport" "$port" "$cport" "$dir/data"
    cat <<PROPS
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
PROPS
  } > "$dir/server.properties"
  log4j_props "$dir/broker.log" > "$dir/log4j2.properties"
  local cp="$jars/*"
  local jvm=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true "-Dlog4j2.configurationFile=$dir/log4j2.properties")
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cid
    cid=$(java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { echo "kafka.sh: storage format failed:" >&2; cat "$dir/format.log" >&2; exit 1; }
  fi
  setsid java "${jvm[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/kafka.pid"
  for _ in $(seq 1 300); do
    # The broker logs "Transition from STARTING to STARTED" even when a listener failed to bind
    # (and then shuts down), so only KafkaRaftServer's last line counts, and a bind failure ends
    # the wait at once (a connect test alone would reach whoever holds the port).
    if grep -q 'Socket server failed to bind' "$dir/broker.log" 2>/dev/null; then
      echo "kafka.sh: broker could not listen:" >&2; grep -m1 'Socket server failed to bind' "$dir/broker.log" >&2
      halt "$dir"; exit 1
    fi
    if grep -q 'Kafka Server started' "$dir/broker.log" "$dir/stdout.log" 2>/dev/null \
      && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "127.0.0.1:$port"; return
    fi
    if ! kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; then
      local status=0; wait "$(cat "$dir/kafka.pid")" || status=$?
      # A status over 128 is a signal (137: SIGKILL, e.g. the kernel's OOM killer).
      echo "kafka.sh: broker on 127.0.0.1:$port exited with status $status; its files:" >&2
      ls -la "$dir" >&2 || true
      tail -n 40 "$dir/stdout.log" "$dir/broker.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  echo "kafka.sh: broker did not start within 60 s" >&2; tail -n 40 "$dir/broker.log" >&2; exit 1
}

# Stops the broker but keeps its data (for tests that restart it).
halt() {
  local dir=${1:?dir}
  if [ -f "$dir/kafka.pid" ]; then
    local pid; pid=$(cat "$dir/kafka.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
    fi
    rm -f "$dir/kafka.pid"
  fi
}

case "${1:-}" in
  fetch) fetch ;;
  jars) fetch >&2; echo "$jars" ;;
  start) start "${2:-}" "${3:-}" ;;
  halt) halt "${2:-}" ;;
  stop) halt "${2:-}"; rm -rf "${2:?dir}" ;;
  *) echo "usage: kafka.sh fetch | start <dir> <port> | halt <dir> | stop <dir>" >&2; exit 2 ;;
esac
