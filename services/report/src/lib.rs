//! The read side of newsflow: reports over Postgres (the `report_*` views and the tables
//! behind them) as a CLI with table/CSV/JSON output, charts, a GDELT 2.0 export and an HTTP
//! API with one HTML page.
//!
//! Shape: `config` (flags), `filters` (validation shared by CLI and API), `query` (SQL),
//! `output` (table/CSV/JSON), `gdelt` (export), `chart` (plotters), `cli` (one-shot
//! subcommands), `server` (axum). The service only reads: in deployment it connects as a login
//! role granted `newsflow_analyst`.

pub mod chart;
pub mod cli;
pub mod config;
pub mod filters;
pub mod gdelt;
pub mod output;
pub mod query;
pub mod server;
