//! Plumbing every newsflow service shares: config, telemetry, Kafka, Postgres, offsets,
//! outbox relay, admin server and shutdown.
