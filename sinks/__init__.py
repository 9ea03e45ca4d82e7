"""Where alerts and actions go: ClickHouse, Kafka topics, Prometheus metrics."""
