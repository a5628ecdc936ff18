//! Tests of the dedup decisions.
