#!/bin/sh
# The compose Kafka (KRaft, one node): clients on a SASL_SSL listener only (TLS, SCRAM-SHA-512);
# the broker's own traffic and the controller on the container's loopback, which no other
# container reaches. The first start formats the store with the casewatch user's SCRAM
# credentials (KRaft keeps them in its metadata); later starts keep them.
set -eu
secrets=/etc/kafka/secrets
data=/var/lib/kafka/data
props=/tmp/server.properties
pw=$(cat "$secrets/store-password")
umask 077
sed "s|@STORE_PASSWORD@|$pw|" /opt/casewatch/kafka/server.properties > "$props"
if [ ! -f "$data/meta.properties" ]; then
  password=$(cat /run/secrets/kafka-password)
  /opt/kafka/bin/kafka-storage.sh format -t "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" -c "$props" \
    --add-scram "SCRAM-SHA-512=[name=${KAFKA_CLIENT_USER:-casewatch},password=$password]"
fi
exec /opt/kafka/bin/kafka-server-start.sh "$props"
