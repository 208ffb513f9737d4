#!/usr/bin/env bash
# A three-node Apache Kafka (KRaft) cluster on 127.0.0.1 for the cluster tests: each node is
# broker and controller (a quorum of three), same jars as kafka.sh.
#   kafka-cluster.sh start <dir> <port>   12 ports from <port>: nodes 1..3 on <port>, <port>+2, <port>+4
#                                          (controllers +1), their SASL_SSL listeners on <port>+6..8 and
#                                          mutual-TLS listeners on <port>+9..11; prints the plaintext
#                                          bootstrap list when all three answer
#   kafka-cluster.sh brokers <dir> plain|secure|mtls   a listener's bootstrap list
#   kafka-cluster.sh user                  the SASL user and password the cluster knows (SCRAM-SHA-256, -512, PLAIN)
#   kafka-cluster.sh kill <dir> <node>     SIGKILL one node (its data stays)
#   kafka-cluster.sh halt <dir> <node>     stop one node cleanly (SIGTERM)
#   kafka-cluster.sh restart <dir> <node>  start a stopped node again; waits until it serves
#   kafka-cluster.sh stop <dir>            stop every node and remove <dir>
# Internal topics are replicated three times with min.insync.replicas 2, as in production.
# TLS material (test/env/tls-certs.sh) is made fresh in <dir>/tls: clients trust <dir>/tls/ca.pem;
# the mtls listener wants a client certificate that CA signed (<dir>/tls/client.pem).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
jars=$(bash "$here/kafka.sh" jars)
# shellcheck source=kafka-props.sh
. "$here/kafka-props.sh"

props() {
  local dir=$1 node=$2 base=$3
  local port=$((base + (node - 1) * 2))
  local voters="1@127.0.0.1:$((base + 1)),2@127.0.0.1:$((base + 3)),3@127.0.0.1:$((base + 5))"
  local secure=$((base + 5 + node)) mtls=$((base + 8 + node))
  { node_props "$node" "$voters" "$port" "$((port + 1))" "$dir/node$node/data" \
      | sed -e "s|^listeners=.*|&,SECURE://127.0.0.1:$secure,MTLS://127.0.0.1:$mtls|" \
            -e "s|^advertised.listeners=.*|&,SECURE://127.0.0.1:$secure,MTLS://127.0.0.1:$mtls|" \
            -e "s|^listener.security.protocol.map=.*|&,SECURE:SASL_SSL,MTLS:SSL|"
    cat <<PROPS
ssl.keystore.type=PEM
ssl.keystore.location=$dir/tls/server-bundle.pem
ssl.truststore.type=PEM
ssl.truststore.location=$dir/tls/ca.pem
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.secure.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.secure.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SCRAM_USER="$SCRAM_PASSWORD";
listener.name.mtls.ssl.client.auth=required
PROPS
    cat <<PROPS
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
replica.lag.time.max.ms=10000
unclean.leader.election.enable=false
PROPS
  } > "$dir/node$node/server.properties"
  log4j_props "$dir/node$node/broker.log" > "$dir/node$node/log4j2.properties"
}

SCRAM_USER=shiplog
SCRAM_PASSWORD=shiplog-secret

jvm() {
  echo "-Xms128m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Dlog4j2.configurationFile=$1/log4j2.properties"
}

launch() {
  local dir=$1 node=$2
  local nd="$dir/node$node"
  # shellcheck disable=SC2046
  setsid java $(jvm "$nd") -cp "$jars/*" kafka.Kafka "$nd/server.properties" >"$nd/stdout.log" 2>&1 < /dev/null &
  echo $! > "$nd/kafka.pid"
}

wait_up() {
  local dir=$1 node=$2 base; base=$(cat "$dir/base-port")
  local port=$((base + (node - 1) * 2))
  for _ in $(seq 1 600); do
    if grep -q 'Kafka Server started' "$dir/node$node/broker.log" "$dir/node$node/stdout.log" 2>/dev/null \
      && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$dir/node$node/kafka.pid")" 2>/dev/null; then
      echo "kafka-cluster.sh: node $node exited:" >&2; tail -n 30 "$dir/node$node/stdout.log" "$dir/node$node/broker.log" >&2 || true; return 1
    fi
    sleep 0.2
  done
  echo "kafka-cluster.sh: node $node did not start within 120 s" >&2; return 1
}

stop_node() {
  local dir=$1 node=$2 sig=$3
  local pidf="$dir/node$node/kafka.pid"
  [ -f "$pidf" ] || return 0
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$sig" "$pid"
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" || true
  fi
  rm -f "$pidf"
  # A restart must not see the old log's "started" line.
  [ -f "$dir/node$node/broker.log" ] && mv "$dir/node$node/broker.log" "$dir/node$node/broker.log.$(date +%s%N)"
  return 0
}

case "${1:-}" in
  start)
    dir=${2:?dir}; base=${3:?port}
    mkdir -p "$dir"; echo "$base" > "$dir/base-port"
    bash "$here/tls-certs.sh" "$dir/tls" > /dev/null
    cid=$(java -cp "$jars/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    for n in 1 2 3; do
      mkdir -p "$dir/node$n/data"
      props "$dir" "$n" "$base"
      # shellcheck disable=SC2046
      java $(jvm "$dir/node$n") -cp "$jars/*" kafka.tools.StorageTool format -t "$cid" -c "$dir/node$n/server.properties" \
        -S "SCRAM-SHA-256=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" -S "SCRAM-SHA-512=[name=$SCRAM_USER,password=$SCRAM_PASSWORD]" >"$dir/node$n/format.log" 2>&1 \
        || { echo "kafka-cluster.sh: format of node $n failed:" >&2; cat "$dir/node$n/format.log" >&2; exit 1; }
    done
    for n in 1 2 3; do launch "$dir" "$n"; done
    for n in 1 2 3; do wait_up "$dir" "$n" || { for m in 1 2 3; do stop_node "$dir" "$m" 9; done; exit 1; }; done
    echo "127.0.0.1:$base,127.0.0.1:$((base + 2)),127.0.0.1:$((base + 4))"
    ;;
  brokers)
    base=$(cat "${2:?dir}/base-port")
    case "${3:?listener}" in
      plain) echo "127.0.0.1:$base,127.0.0.1:$((base + 2)),127.0.0.1:$((base + 4))" ;;
      secure) echo "127.0.0.1:$((base + 6)),127.0.0.1:$((base + 7)),127.0.0.1:$((base + 8))" ;;
      mtls) echo "127.0.0.1:$((base + 9)),127.0.0.1:$((base + 10)),127.0.0.1:$((base + 11))" ;;
      *) echo "kafka-cluster.sh: listener is plain, secure or mtls" >&2; exit 2 ;;
    esac
    ;;
  user) echo "$SCRAM_USER $SCRAM_PASSWORD" ;;
  kill) stop_node "${2:?dir}" "${3:?node}" 9 ;;
  halt) stop_node "${2:?dir}" "${3:?node}" TERM ;;
  restart) launch "${2:?dir}" "${3:?node}"; wait_up "$2" "$3" ;;
  stop) dir=${2:?dir}; for n in 1 2 3; do stop_node "$dir" "$n" TERM; done; rm -rf "$dir" ;;
  *) echo "usage: kafka-cluster.sh start <dir> <port> | brokers <dir> plain|secure|mtls | user | kill|halt|restart <dir> <node> | stop <dir>" >&2; exit 2 ;;
esac
