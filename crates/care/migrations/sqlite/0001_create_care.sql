-- Care events and reimbursement reports (SPEC 3). AUTOINCREMENT so ids are never reused.
-- Money is integer cents; an event keeps the price its type had when it was created.
CREATE TABLE care_event_types (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    amount_in_cents INTEGER NOT NULL CHECK (amount_in_cents >= 0),
    currency        TEXT    NOT NULL DEFAULT 'SEK'
);

CREATE TABLE care_events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    type_id         INTEGER NOT NULL REFERENCES care_event_types (id),
    caregiver_id    INTEGER NOT NULL,
    start_time      TEXT    NOT NULL,
    amount_in_cents INTEGER NOT NULL,
    reimbursed      INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL
);
-- A caregiver's events in time (filtered reports, confined lists); all events in time (the
-- partial months at a report's edges); a type's events (the in-use check on delete).
CREATE INDEX care_events_caregiver_start ON care_events (caregiver_id, start_time);
CREATE INDEX care_events_start ON care_events (start_time);
CREATE INDEX care_events_type ON care_events (type_id);

-- Per caregiver, UTC month and reimbursed state: the sum and count of its events, kept in the
-- transaction of every write to care_events, so a report reads whole months from here.
CREATE TABLE care_totals (
    caregiver_id    INTEGER NOT NULL,
    month           TEXT    NOT NULL,
    reimbursed      INTEGER NOT NULL,
    amount_in_cents INTEGER NOT NULL,
    events          INTEGER NOT NULL,
    PRIMARY KEY (caregiver_id, month, reimbursed)
) WITHOUT ROWID;
CREATE INDEX care_totals_month ON care_totals (month);
