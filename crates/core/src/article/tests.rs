//! Tests of article parsing.
