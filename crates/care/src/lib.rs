//! Care (SPEC 3): care events, their types and monthly reimbursement reports, behind scope
//! `care`, answering in the original service's `{"status": ...}` envelope.
//!
//! - [`model`]: event types, events, request bodies and their rules; [`instant`]: times
//! - [`access`]: who may see which caregivers (the `caregivers` claim)
//! - [`report`]: the report's plan (whole months and edges), its folding and rendering; [`csv`]
//! - [`store`](mod@store): the SQL, on SQLite and PostgreSQL, with the monthly totals
//! - [`routes`](mod@routes): the HTTP handlers; [`envelope`]: the answers' shapes
//! - [`error`]: the module's errors and their one mapping to HTTP

pub mod access;
pub mod csv;
pub mod envelope;
pub mod error;
pub mod instant;
pub mod model;
pub mod report;
pub mod routes;
pub mod store;

use ferrum_platform::{
    auth::Scope,
    db::migrate::{Migration, MigrationSet},
};

pub use error::CareError;
pub use routes::routes;

/// The scope every care route but `/ping` needs.
pub const SCOPE: Scope = Scope::new("care");
/// Also needed to reimburse an event.
pub const REIMBURSE: Scope = Scope::new("care:reimburse");
/// Also needed to create, change or delete event types, and to delete events.
pub const MANAGE: Scope = Scope::new("care:manage");

/// The module's schema, per dialect.
pub static MIGRATIONS: MigrationSet = MigrationSet {
    module: "care",
    migrations: &[Migration {
        version: 1,
        name: "create care events, types and totals",
        sqlite: include_str!("../migrations/sqlite/0001_create_care.sql"),
        postgres: include_str!("../migrations/postgres/0001_create_care.sql"),
    }],
};
