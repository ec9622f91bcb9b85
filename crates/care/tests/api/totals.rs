//! The monthly totals against a full scan: random sequences of creates, deletes, reimbursements
//! and price changes, then random report filters, each report compared with one recomputed
//! straight from the events; on SQLite and on PostgreSQL.

use chrono::{DateTime, TimeZone, Utc};
use ferrum_care::{
    access::Caregivers,
    instant,
    model::{NewEvent, NewEventType, TypeChanges},
    report::{Figure, Report, ReportFilter},
    store::{EventQuery, Store},
};
use ferrum_platform::{db::query, http::paging::PageSize};
use ferrum_testkit::{Backend, TestDb};
use proptest::{prelude::*, test_runner::TestRunner};

#[derive(Clone, Debug)]
enum Op {
    NewType(i64),
    NewEvent { type_pick: usize, caregiver: i64, at: i64 },
    Delete(usize),
    Reimburse(usize),
    Reprice { type_pick: usize, cents: i64 },
}

#[derive(Clone, Debug)]
struct Filter {
    caregivers: Option<Vec<i64>>,
    min_time: Option<i64>,
    max_time: Option<i64>,
}

/// The first instant the generated times are counted from (micros since the epoch).
fn origin() -> i64 {
    Utc.with_ymd_and_hms(2016, 11, 1, 0, 0, 0).unwrap().timestamp_micros()
}

fn month_micros(months: i64) -> i64 {
    let (year, month) = (2016 + (10 + months) / 12, (10 + months) % 12 + 1);
    Utc.with_ymd_and_hms(year as i32, month as u32, 1, 0, 0, 0).unwrap().timestamp_micros() - origin()
}

/// Instants over five months, often at or next to a month's first microsecond.
fn an_instant() -> impl Strategy<Value = i64> {
    prop_oneof![
        (0i64..6).prop_map(month_micros),
        (0i64..6, -2i64..3).prop_map(|(month, micros)| month_micros(month) + micros),
        0i64..(151 * 86_400_000_000),
    ]
}

fn an_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0i64..20_000).prop_map(Op::NewType),
        6 => (0usize..8, 1i64..5, an_instant()).prop_map(|(type_pick, caregiver, at)| Op::NewEvent { type_pick, caregiver, at }),
        1 => (0usize..64).prop_map(Op::Delete),
        2 => (0usize..64).prop_map(Op::Reimburse),
        1 => (0usize..8, 0i64..20_000).prop_map(|(type_pick, cents)| Op::Reprice { type_pick, cents }),
    ]
}

fn a_filter() -> impl Strategy<Value = Filter> {
    let caregivers = proptest::option::of(proptest::collection::vec(1i64..6, 0..4));
    (caregivers, proptest::option::of(an_instant()), proptest::option::of(an_instant()))
        .prop_map(|(caregivers, min_time, max_time)| Filter { caregivers, min_time, max_time })
}

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(origin() + micros).unwrap()
}

/// Runs `ops`, then checks each filter's report against the events, and each event's price
/// against the price its type had when it was created.
async fn check(store: &Store, ops: &[Op], filters: &[Filter]) -> Result<(), TestCaseError> {
    let mut types: Vec<(i64, i64)> = Vec::new();
    let mut events: Vec<(i64, i64)> = Vec::new();
    for op in ops {
        match op {
            Op::NewType(cents) => {
                let name = format!("type {}", types.len());
                let created = store.insert_type(NewEventType { name, amount_in_cents: *cents }).await.unwrap();
                types.push((created.id, *cents));
            }
            Op::NewEvent { type_pick, caregiver, at: micros } if !types.is_empty() => {
                let (type_id, cents) = types[type_pick % types.len()];
                let new = NewEvent { type_id, caregiver_id: *caregiver, start_time: at(*micros) };
                let ids = store.insert_events(vec![new]).await.unwrap();
                events.push((ids[0], cents));
            }
            Op::Delete(pick) if !events.is_empty() => {
                let (id, _) = events.remove(pick % events.len());
                store.delete_event(id, &Caregivers::All).await.unwrap();
            }
            Op::Reimburse(pick) if !events.is_empty() => {
                // A second reimbursement is refused and must change nothing.
                let _ = store.reimburse(events[pick % events.len()].0, &Caregivers::All).await;
            }
            Op::Reprice { type_pick, cents } if !types.is_empty() => {
                let at = type_pick % types.len();
                let changes = TypeChanges { name: None, amount_in_cents: Some(*cents) };
                store.update_type(types[at].0, changes).await.unwrap();
                types[at].1 = *cents;
            }
            _ => {}
        }
    }
    let everything = EventQuery {
        after_id: 0,
        caregiver_id: None,
        type_id: None,
        reimbursed: None,
        min_time: instant::far_past(),
        max_time: instant::far_future(),
        visible: Caregivers::All,
        limit: PageSize::new(10_000, 10_000).of(None).unwrap(),
    };
    let stored = store.list_events(&everything).await.unwrap();
    let prices: Vec<(i64, i64)> = stored.iter().map(|event| (event.id, event.amount_in_cents)).collect();
    prop_assert_eq!(prices, events);
    for filter in filters {
        let caregivers = match &filter.caregivers {
            Some(ids) if !ids.is_empty() => Caregivers::only(ids.clone()),
            _ => Caregivers::All,
        };
        let (min_time, max_time) = (filter.min_time.map(at), filter.max_time.map(at));
        let scanned = stored
            .iter()
            .filter(|event| caregivers.allows(event.caregiver_id))
            .filter(|event| min_time.is_none_or(|min| min <= event.start_time))
            .filter(|event| max_time.is_none_or(|max| event.start_time < max))
            .map(|event| Figure {
                caregiver_id: event.caregiver_id,
                month: instant::month_start(event.start_time),
                reimbursed: event.reimbursed,
                amount_in_cents: event.amount_in_cents,
                events: 1,
            });
        let expected = Report::fold(scanned);
        let report = store.report(&ReportFilter { caregivers, min_time, max_time }).await.unwrap();
        prop_assert_eq!(report, expected, "{:?}", filter);
    }
    Ok(())
}

fn totals_match_a_full_scan(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let test = runtime.block_on(TestDb::new(backend, &[&ferrum_care::MIGRATIONS]));
    let store = Store::new(test.db.clone());
    let config = ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() };
    let strategy = (proptest::collection::vec(an_op(), 1..40), proptest::collection::vec(a_filter(), 1..6));
    let outcome = TestRunner::new(config).run(&strategy, |(ops, filters)| {
        runtime.block_on(async {
            for table in ["care_totals", "care_events", "care_event_types"] {
                test.db.execute(query(format!("DELETE FROM {table}"))).await.unwrap();
            }
            check(&store, &ops, &filters).await
        })
    });
    drop(store);
    runtime.block_on(test.db.close());
    drop(runtime);
    drop(test);
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

#[test]
fn totals_match_a_full_scan_on_sqlite() {
    totals_match_a_full_scan(Backend::Sqlite);
}

#[test]
fn totals_match_a_full_scan_on_postgres() {
    if ferrum_testkit::postgres_enabled() {
        totals_match_a_full_scan(Backend::Postgres);
    }
}
