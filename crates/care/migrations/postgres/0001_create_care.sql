-- Care events and reimbursement reports (SPEC 3). Money is integer cents; an event keeps the
-- price its type had when it was created.
CREATE TABLE care_event_types (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT   NOT NULL UNIQUE,
    amount_in_cents BIGINT NOT NULL CHECK (amount_in_cents >= 0),
    currency        TEXT   NOT NULL DEFAULT 'SEK'
);

CREATE TABLE care_events (
    id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type_id         BIGINT      NOT NULL REFERENCES care_event_types (id),
    caregiver_id    BIGINT      NOT NULL,
    start_time      TIMESTAMPTZ NOT NULL,
    amount_in_cents BIGINT      NOT NULL,
    reimbursed      BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at      TIMESTAMPTZ NOT NULL
);
-- A caregiver's events in time (filtered reports, confined lists); all events in time (the
-- partial months at a report's edges); a type's events (the in-use check on delete).
CREATE INDEX care_events_caregiver_start ON care_events (caregiver_id, start_time);
CREATE INDEX care_events_start ON care_events (start_time);
CREATE INDEX care_events_type ON care_events (type_id);

-- Per caregiver, UTC month and reimbursed state: the sum and count of its events, kept in the
-- transaction of every write to care_events, so a report reads whole months from here.
CREATE TABLE care_totals (
    caregiver_id    BIGINT      NOT NULL,
    month           TIMESTAMPTZ NOT NULL,
    reimbursed      BOOLEAN     NOT NULL,
    amount_in_cents BIGINT      NOT NULL,
    events          BIGINT      NOT NULL,
    PRIMARY KEY (caregiver_id, month, reimbursed)
);
CREATE INDEX care_totals_month ON care_totals (month);
