//! Each dialect difference the platform names (`db::dialect`), and each shared form it says
//! needs nothing, on both databases.

use chrono::{DateTime, TimeZone, Utc};
use ferrum_platform::db::{self, Backend as DbBackend, dialect, query};
use ferrum_testkit::{Backend, TestDb, both_backends};

async fn events(backend: Backend) -> TestDb {
    let test = TestDb::new(backend, &[]).await;
    let ddl = match test.db.backend() {
        DbBackend::Sqlite => {
            "CREATE TABLE events (id INTEGER PRIMARY KEY, at TEXT NOT NULL, cents BIGINT NOT NULL, \
             paid INTEGER NOT NULL)"
        }
        DbBackend::Postgres => {
            "CREATE TABLE events (id BIGINT PRIMARY KEY, at TIMESTAMPTZ NOT NULL, \
             cents BIGINT NOT NULL, paid BOOLEAN NOT NULL)"
        }
    };
    test.db.execute(query(ddl)).await.unwrap();
    test.db
        .execute(query("CREATE TABLE totals (month TEXT PRIMARY KEY, cents BIGINT NOT NULL, events BIGINT NOT NULL)"))
        .await
        .unwrap();
    test
}

fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 59, 59).unwrap() + chrono::Duration::microseconds(999_999)
}

async fn add(test: &TestDb, id: i64, when: DateTime<Utc>, cents: i64, paid: bool) {
    let insert = query("INSERT INTO events (id, at, cents, paid) VALUES ($1, $2, $3, $4)");
    test.db.execute(insert.bind(id).bind(when).bind(cents).bind(paid)).await.unwrap();
}

/// Months by `dialect::month_start`, sums cast to BIGINT, booleans and instants compared and
/// ordered: the same answers on both.
async fn monthly_sums_read_the_same(backend: Backend) {
    let test = events(backend).await;
    add(&test, 1, at(2025, 12, 31, 23), 5_000_000_000, true).await;
    add(&test, 2, at(2026, 1, 1, 0), 1_250, false).await;
    add(&test, 3, at(2026, 1, 31, 23), 11_249, true).await;
    add(&test, 4, at(2026, 2, 1, 0), 1, false).await;
    let month = dialect::month_start(test.db.backend(), "at");
    let sql = format!(
        "SELECT {month}, CAST(SUM(cents) AS BIGINT), COUNT(*), CAST(SUM(CASE WHEN paid THEN 1 ELSE 0 END) AS BIGINT) \
         FROM events WHERE at >= $1 AND at < $2 GROUP BY 1 ORDER BY 1"
    );
    let rows: Vec<(DateTime<Utc>, i64, i64, i64)> =
        test.db.fetch_all(query(sql).bind(at(2025, 1, 1, 0)).bind(at(2026, 2, 1, 0))).await.unwrap();
    let month = |y, m| Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
    assert_eq!(rows, [(month(2025, 12), 5_000_000_000, 1, 1), (month(2026, 1), 12_499, 2, 1)]);
    // An uncast SUM is numeric on PostgreSQL: refused with the advice, never read as a float.
    if test.db.backend() == DbBackend::Postgres {
        let error = test.db.fetch_one::<i64>(query("SELECT SUM(cents) FROM events")).await.unwrap_err();
        assert!(error.to_string().contains("CAST"), "{error}");
    }
    let paid: Vec<bool> = test.db.fetch_all(query("SELECT paid FROM events ORDER BY at DESC")).await.unwrap();
    assert_eq!(paid, [false, true, false, true]);
}

/// `INSERT ... ON CONFLICT DO UPDATE ... excluded.x` adds to a running total on both.
async fn upserts_add_to_totals(backend: Backend) {
    let test = events(backend).await;
    let upsert = "INSERT INTO totals (month, cents, events) VALUES ($1, $2, 1) \
                  ON CONFLICT (month) DO UPDATE SET cents = totals.cents + excluded.cents, events = totals.events + 1";
    for (month, cents) in [("2026-01", 100), ("2026-01", 250), ("2026-02", 7)] {
        test.db.execute(query(upsert).bind(month).bind(cents)).await.unwrap();
    }
    let totals: Vec<(String, i64, i64)> =
        test.db.fetch_all(query("SELECT month, cents, events FROM totals ORDER BY month")).await.unwrap();
    assert_eq!(totals, [("2026-01".to_owned(), 350, 2), ("2026-02".to_owned(), 7, 1)]);
    let missing: Result<i64, db::Error> = test.db.fetch_one(query("SELECT events FROM totals WHERE month = 'x'")).await;
    assert!(missing.unwrap_err().to_string().contains("no row"));
}

/// A list of integers bound as one parameter selects by `IN` on both; NULL is the empty list.
async fn integer_lists_bind_as_one_parameter(backend: Backend) {
    let test = events(backend).await;
    for id in 1..=5 {
        add(&test, id, at(2026, 1, 1, 0), id * 100, false).await;
    }
    let sql =
        format!("SELECT id FROM events WHERE id IN {} ORDER BY id", dialect::integers_in(test.db.backend(), "$1"));
    for (list, expected) in [(&[4, 2, 9][..], &[2, 4][..]), (&[], &[]), (&[5], &[5])] {
        let text = dialect::integer_array(list);
        let ids: Vec<i64> = test.db.fetch_all(query(sql.clone()).bind(text.clone())).await.unwrap();
        assert_eq!(ids, expected, "{text}");
    }
    let none: Vec<i64> = test.db.fetch_all(query(sql).bind(None::<String>)).await.unwrap();
    assert!(none.is_empty());
    assert_eq!(dialect::integer_array(&[-1, 0, i64::MAX]), format!("[-1,0,{}]", i64::MAX));
}

both_backends!(monthly_sums_read_the_same, upserts_add_to_totals, integer_lists_bind_as_one_parameter);
