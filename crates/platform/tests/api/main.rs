//! The platform's integration tests, on a real SQLite file and a real PostgreSQL database.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on what it did not expect")]

mod db;
mod dialect;
mod limits;
