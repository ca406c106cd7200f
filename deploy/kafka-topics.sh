#!/bin/sh
# Creates (or widens) reelforge's topics with their partition counts and
# retention; run once per cluster by the compose init service and the
# Kubernetes Job, with Kafka's own kafka-topics.sh on PATH or in /opt/kafka/bin.
#   KAFKA_BOOTSTRAP (kafka:9092), REEL_TOPIC_PREFIX (reel.),
#   REEL_PARTITIONS (12: the most processes one stage's group can use), REEL_REPLICATION (1)
set -eu
bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
prefix=${REEL_TOPIC_PREFIX:-reel.}
partitions=${REEL_PARTITIONS:-12}
replication=${REEL_REPLICATION:-1}
kt=$(command -v kafka-topics.sh || echo /opt/kafka/bin/kafka-topics.sh)

# name partitions retention.ms: stage messages are ids, kept a week for replays;
# events a day (PostgreSQL keeps the truth); dead letters a month for operators.
while read -r name parts retention; do
	[ -n "$name" ] || continue
	"$kt" --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$prefix$name" \
		--partitions "$parts" --replication-factor "$replication" \
		--config retention.ms="$retention" --config cleanup.policy=delete
	# A topic made earlier with fewer partitions is widened (never narrowed).
	"$kt" --bootstrap-server "$bootstrap" --alter --topic "$prefix$name" --partitions "$parts" 2>/dev/null || true
done <<TOPICS
parse $partitions 604800000
render $partitions 604800000
tts $partitions 604800000
merge $partitions 604800000
events $partitions 86400000
dlq 3 2592000000
TOPICS
"$kt" --bootstrap-server "$bootstrap" --describe --topic "${prefix}render"
