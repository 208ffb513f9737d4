# Sourced by kafka.sh and kafka-cluster.sh: what every test broker's configuration shares.

# node_props <node-id> <voters> <port> <controller-port> <data-dir>: a combined broker/controller on loopback.
node_props() {
  cat <<PROPS
process.roles=broker,controller
node.id=$1
controller.quorum.voters=$2
listeners=PLAINTEXT://127.0.0.1:$3,CONTROLLER://127.0.0.1:$4
advertised.listeners=PLAINTEXT://127.0.0.1:$3
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$5
num.partitions=1
offsets.topic.num.partitions=6
group.initial.rebalance.delay.ms=0
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
auto.create.topics.enable=false
log.retention.hours=24
PROPS
}

# log4j_props <log-file>: warnings, and Kafka's own info lines (the start-up wait reads them).
log4j_props() {
  cat <<PROPS
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $1
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
PROPS
}
