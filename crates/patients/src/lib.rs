//! Patients (SPEC 2): patient records behind JWT scope `patients`.
//!
//! - [`model`]: the patient, the request body and its validation
//! - [`store`]: the SQL, on SQLite and PostgreSQL
//! - [`routes`](mod@routes): the HTTP handlers
//! - [`error`]: the module's errors and their one mapping to HTTP

pub mod error;
pub mod model;
pub mod routes;
pub mod store;

use ferrum_platform::{
    auth::Scope,
    db::migrate::{Migration, MigrationSet},
};

pub use model::Patient;
pub use routes::routes;

/// The scope a token needs for every patients route.
pub const SCOPE: Scope = Scope::new("patients");

/// The module's schema, per dialect.
pub static MIGRATIONS: MigrationSet = MigrationSet {
    module: "patients",
    migrations: &[Migration {
        version: 1,
        name: "create patients",
        sqlite: include_str!("../migrations/sqlite/0001_create_patients.sql"),
        postgres: include_str!("../migrations/postgres/0001_create_patients.sql"),
    }],
};
