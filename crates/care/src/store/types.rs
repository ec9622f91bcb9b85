//! Event types: create, list, find, change (name or price) and delete when unused.

use ferrum_platform::db::{self, FromRow, Isolation, Row, query};

use super::Store;
use crate::{
    error::CareError,
    model::{Currency, EventType, NewEventType, TypeChanges},
};

const INSERT: &str = "INSERT INTO care_event_types (name, amount_in_cents, currency) VALUES ($1, $2, 'SEK') RETURNING id, name, amount_in_cents, currency";

const LIST: &str = "SELECT id, name, amount_in_cents, currency FROM care_event_types ORDER BY id";

const FIND: &str = "SELECT id, name, amount_in_cents, currency FROM care_event_types WHERE id = $1";

// A new price applies to events created from now on: events carry their own.
const UPDATE: &str = "UPDATE care_event_types SET name = COALESCE($1, name), \
    amount_in_cents = COALESCE($2, amount_in_cents) WHERE id = $3 RETURNING id, name, amount_in_cents, currency";

const DELETE_UNUSED: &str =
    "DELETE FROM care_event_types WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM care_events WHERE type_id = $1)";

const EXISTS: &str = "SELECT COUNT(*) FROM care_event_types WHERE id = $1";

impl Store {
    /// Creates an event type; a taken name is `Invalid payload.`.
    pub async fn insert_type(&self, new: NewEventType) -> Result<EventType, CareError> {
        let insert = query(INSERT).bind(new.name).bind(new.amount_in_cents);
        self.db.write_one(insert).await.map_err(duplicate_name)
    }

    /// Every event type, ordered by id.
    pub async fn list_types(&self) -> Result<Vec<EventType>, db::Error> {
        self.db.fetch_all(query(LIST)).await
    }

    /// The event type with this id, if any.
    pub async fn find_type(&self, id: i64) -> Result<Option<EventType>, db::Error> {
        self.db.fetch_optional(query(FIND).bind(id)).await
    }

    /// Changes a type's name or price; `None` when there is no such type.
    pub async fn update_type(&self, id: i64, changes: TypeChanges) -> Result<Option<EventType>, CareError> {
        let update = query(UPDATE).bind(changes.name).bind(changes.amount_in_cents).bind(id);
        self.db.write_optional(update).await.map_err(duplicate_name)
    }

    /// Deletes a type no event refers to.
    pub async fn delete_type(&self, id: i64) -> Result<(), CareError> {
        self.db
            .transaction(Isolation::ReadCommitted, move |tx| {
                Box::pin(async move {
                    // An event inserted concurrently is caught by the foreign key instead.
                    let deleted = tx.execute(query(DELETE_UNUSED).bind(id)).await.map_err(|error| match error {
                        db::Error::ForeignKeyViolation => CareError::EventTypeInUse,
                        other => CareError::Db(other),
                    })?;
                    if deleted == 1 {
                        return Ok(());
                    }
                    match tx.fetch_one::<i64>(query(EXISTS).bind(id)).await? {
                        0 => Err(CareError::EventTypeNotFound),
                        _ => Err(CareError::EventTypeInUse),
                    }
                })
            })
            .await
    }
}

fn duplicate_name(error: db::Error) -> CareError {
    match error {
        db::Error::UniqueViolation => CareError::invalid("name", "another event type has this name"),
        other => CareError::Db(other),
    }
}

impl FromRow for EventType {
    fn from_row(row: &Row<'_>) -> Result<Self, db::Error> {
        let currency: String = row.get(3)?;
        if currency != "SEK" {
            return Err(db::Error::Other(format!("event type currency {currency:?} is not SEK").into()));
        }
        Ok(EventType { id: row.get(0)?, name: row.get(1)?, amount_in_cents: row.get(2)?, currency: Currency::SEK })
    }
}
