#!/usr/bin/env bash
# Start a single-node Apache Kafka 4.x broker in KRaft mode on loopback.
#
#   infra/kafka/start-kafka.sh PORT DATA_DIR [--restart]
#
# Fetches the pinned broker jars (pom.xml) from Maven Central into a cache on first use,
# formats DATA_DIR as a fresh log dir, starts the broker in the background (its pid in
# DATA_DIR/kafka.pid, its log in DATA_DIR/kafka.log) and returns once the broker
# answers on 127.0.0.1:PORT. Stop it with: kill "$(cat DATA_DIR/kafka.pid)".
# --restart starts a stopped broker again on the DATA_DIR it already has (its topics kept).
# With CM_KAFKA_SCRAM=USER:PASSWORD the listener is SASL_PLAINTEXT with SCRAM-SHA-512, and
# that user is the one credential the broker knows (also used between broker and itself).
set -euo pipefail
port=${1:?usage: start-kafka.sh PORT DATA_DIR}
data=${2:?usage: start-kafka.sh PORT DATA_DIR}
here=$(cd "$(dirname "$0")" && pwd)
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
jars=${CM_KAFKA_JARS:-$HOME/.cache/compliance-monitor/kafka-$version}

if [ ! -f "$jars/kafka_2.13-$version.jar" ]; then
  echo "fetching Apache Kafka $version jars into $jars" >&2
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$jars" >&2
fi

restart=${3:-}
java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC "-Dlog4j2.configurationFile=$here/log4j2.yaml")
if [ "$restart" != "--restart" ]; then
controller_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$data/logs"
listener=PLAINTEXT
scram_format=()
if [ -n "${CM_KAFKA_SCRAM:-}" ]; then
  listener=SASL_PLAINTEXT
  user=${CM_KAFKA_SCRAM%%:*}
  password=${CM_KAFKA_SCRAM#*:}
  scram_format=(--add-scram "SCRAM-SHA-512=[name=$user,password=$password]")
fi
cat > "$data/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=$listener://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=$listener://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$listener:$listener
inter.broker.listener.name=$listener
log.dirs=$data/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
if [ -n "${CM_KAFKA_SCRAM:-}" ]; then
cat >> "$data/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$user" password="$password";
PROPS
fi

cluster_id=$(java "${java_opts[@]}" -cp "$jars/*" kafka.tools.StorageTool random-uuid)
java "${java_opts[@]}" -cp "$jars/*" kafka.tools.StorageTool format \
     -t "$cluster_id" -c "$data/server.properties" "${scram_format[@]}" >"$data/format.log" 2>&1
fi

nohup java "${java_opts[@]}" -cp "$jars/*" kafka.Kafka "$data/server.properties" \
      >>"$data/kafka.log" 2>&1 &
echo $! >"$data/kafka.pid"

for _ in $(seq 1 120); do
  if ! kill -0 "$(cat "$data/kafka.pid")" 2>/dev/null; then
    echo "kafka exited during start-up; see $data/kafka.log" >&2
    tail -n 20 "$data/kafka.log" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "kafka $version ready on 127.0.0.1:$port (pid $(cat "$data/kafka.pid"))" >&2
    exit 0
  fi
  sleep 0.5
done
echo "kafka did not answer on 127.0.0.1:$port within 60 s; see $data/kafka.log" >&2
exit 1
