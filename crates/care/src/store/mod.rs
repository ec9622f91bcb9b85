//! Care SQL, written once for both databases (the platform runs it on SQLite or PostgreSQL);
//! where the dialects differ (the month of an instant, a list bound as one parameter) the
//! statement text is built once per backend, in `Sql`, from `ferrum_platform::db::dialect`.
//!
//! - [`types`]: event types
//! - [`events`]: events, inserted in batches of any size in one transaction
//! - [`totals`]: the monthly totals every write to events keeps in its own transaction
//! - [`report`](mod@report): the report, from the totals and the raw events at its edges

pub mod events;
pub mod report;
pub mod totals;
pub mod types;

use std::sync::Arc;

use ferrum_platform::db::{Backend, Db, dialect};

pub use events::EventQuery;

/// Care storage on either database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    sql: Arc<Sql>,
}

impl Store {
    /// A store over `db`.
    pub fn new(db: Db) -> Self {
        let sql = Arc::new(Sql::for_backend(db.backend()));
        Self { db, sql }
    }
}

/// The statements whose text depends on the backend, built once.
#[derive(Debug)]
struct Sql {
    find_event: String,
    list_events: String,
    delete_event: String,
    reimburse: String,
    is_visible: String,
    report_all: String,
    report_some: String,
}

impl Sql {
    fn for_backend(backend: Backend) -> Self {
        // The placeholder holds the caregivers the caller may see, or NULL for every one. The
        // CAST comes first because PostgreSQL types a placeholder where it first appears.
        let visible = |placeholder: &str| {
            let list = dialect::integers_in(backend, placeholder);
            format!("(CAST({placeholder} AS TEXT) IS NULL OR caregiver_id IN {list})")
        };
        Sql {
            find_event: events::find(&visible("$2")),
            list_events: events::list(&visible("$7")),
            delete_event: events::delete(&visible("$2")),
            reimburse: events::reimburse(&visible("$2")),
            is_visible: events::exists(&visible("$2")),
            report_all: report::statement(backend, None),
            report_some: report::statement(backend, Some(&dialect::integers_in(backend, "$7"))),
        }
    }
}
