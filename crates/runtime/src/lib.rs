//! Plumbing every newsflow service shares: config, telemetry, Kafka, Postgres, offsets,
//! outbox relay, batch consumption, admin server and shutdown.

pub mod admin;
pub mod config;
pub mod consumer;
pub mod db;
pub mod input;
pub mod kafka;
pub mod monitor;
pub mod offsets;
pub mod outbox;
pub mod service;
pub mod shutdown;
pub mod stage;
pub mod telemetry;

pub use shutdown::Shutdown;
