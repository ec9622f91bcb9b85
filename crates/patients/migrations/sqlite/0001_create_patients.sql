-- Patients (SPEC 2). AUTOINCREMENT so a deleted patient's id is never handed out again.
-- The *_folded columns hold the lower-cased names the `q` search matches, folded in Rust so
-- non-ASCII names match the same way on SQLite and PostgreSQL.
CREATE TABLE patients (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name        TEXT    NOT NULL,
    last_name         TEXT    NOT NULL DEFAULT '',
    address           TEXT    NOT NULL DEFAULT '',
    phone             TEXT    NOT NULL DEFAULT '',
    email             TEXT    NOT NULL DEFAULT '',
    first_name_folded TEXT    NOT NULL,
    last_name_folded  TEXT    NOT NULL DEFAULT '',
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1
);
