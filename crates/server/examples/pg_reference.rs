//! The PostgreSQL benchmark's reference: the patients point read and insert on plain axum (no
//! middleware, no logs, no validation), through each of two drivers, so that `bench/pg.sh` can
//! state what Ferrum's PostgreSQL path costs beside the least a server can do for the same rows.
//!
//! - `GET /sqlx/patients/{id}` and `POST /sqlx/patients`: sqlx, a pool of 16.
//! - `GET /tp/patients/{id}` and `POST /tp/patients`: tokio-postgres over deadpool-postgres, a
//!   pool of 16, each statement prepared once per connection (`prepare_cached`).
//! - `GET /health/live`: up as soon as both pools have connected.
//!
//! The statements are Ferrum's own (`crates/patients/src/store.rs`: FIND and INSERT, the same
//! columns and placeholders) over the table its migration creates: run Ferrum (or
//! `ferrum migrate`) on the database first. A failed query answers 500 with the error on stderr.
//!
//! `cargo run --release -p ferrum-server --example pg_reference -- 127.0.0.1:18101 postgres://postgres@127.0.0.1:5432/ferrum`

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgPool, Row, postgres::PgPoolOptions};
use tokio_postgres::NoTls;

/// The columns both statements return, as Ferrum's store lists them.
macro_rules! columns {
    () => {
        "id, first_name, last_name, address, phone, email, created_at, updated_at, version"
    };
}

const FIND: &str = concat!("SELECT ", columns!(), " FROM patients WHERE id = $1");

const INSERT: &str = concat!(
    "INSERT INTO patients
    (first_name, last_name, address, phone, email, first_name_folded, last_name_folded, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ",
    columns!()
);

/// The pool size of each driver, as Ferrum's default.
const POOL_SIZE: u32 = 16;

#[derive(Serialize)]
struct Patient {
    id: i64,
    first_name: String,
    last_name: String,
    address: String,
    phone: String,
    email: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

/// A create body: the fields as sent, absent ones empty.
#[derive(Deserialize)]
struct NewPatient {
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
}

#[derive(Clone)]
struct Pools {
    sqlx: PgPool,
    tp: Pool,
}

type Answer<T> = Result<T, StatusCode>;

/// A failed query or connection: 500, and the error on stderr.
fn failed(error: impl std::fmt::Display) -> StatusCode {
    eprintln!("{error}");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn sqlx_find(State(pools): State<Pools>, Path(id): Path<i64>) -> Answer<Json<Patient>> {
    let row = sqlx::query(FIND).bind(id).fetch_optional(&pools.sqlx).await.map_err(failed)?;
    let row = row.ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(from_sqlx(&row).map_err(failed)?))
}

async fn sqlx_insert(State(pools): State<Pools>, Json(new): Json<NewPatient>) -> Answer<(StatusCode, Json<Patient>)> {
    let row = sqlx::query(INSERT)
        .bind(&new.first_name)
        .bind(&new.last_name)
        .bind(&new.address)
        .bind(&new.phone)
        .bind(&new.email)
        .bind(new.first_name.to_lowercase())
        .bind(new.last_name.to_lowercase())
        .bind(Utc::now())
        .fetch_one(&pools.sqlx)
        .await
        .map_err(failed)?;
    Ok((StatusCode::CREATED, Json(from_sqlx(&row).map_err(failed)?)))
}

async fn tp_find(State(pools): State<Pools>, Path(id): Path<i64>) -> Answer<Json<Patient>> {
    let client = pools.tp.get().await.map_err(failed)?;
    let statement = client.prepare_cached(FIND).await.map_err(failed)?;
    let row = client.query_opt(&statement, &[&id]).await.map_err(failed)?;
    let row = row.ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(from_tp(&row).map_err(failed)?))
}

async fn tp_insert(State(pools): State<Pools>, Json(new): Json<NewPatient>) -> Answer<(StatusCode, Json<Patient>)> {
    let client = pools.tp.get().await.map_err(failed)?;
    let statement = client.prepare_cached(INSERT).await.map_err(failed)?;
    let (first_folded, last_folded) = (new.first_name.to_lowercase(), new.last_name.to_lowercase());
    let now = Utc::now();
    let row = client
        .query_one(
            &statement,
            &[&new.first_name, &new.last_name, &new.address, &new.phone, &new.email, &first_folded, &last_folded, &now],
        )
        .await
        .map_err(failed)?;
    Ok((StatusCode::CREATED, Json(from_tp(&row).map_err(failed)?)))
}

/// A patient from a row of either driver: both read a column by index with `try_get`.
macro_rules! patient_from {
    ($row:expr) => {
        Patient {
            id: $row.try_get(0)?,
            first_name: $row.try_get(1)?,
            last_name: $row.try_get(2)?,
            address: $row.try_get(3)?,
            phone: $row.try_get(4)?,
            email: $row.try_get(5)?,
            created_at: $row.try_get(6)?,
            updated_at: $row.try_get(7)?,
            version: $row.try_get(8)?,
        }
    };
}

fn from_sqlx(row: &sqlx::postgres::PgRow) -> Result<Patient, sqlx::Error> {
    Ok(patient_from!(row))
}

fn from_tp(row: &tokio_postgres::Row) -> Result<Patient, tokio_postgres::Error> {
    Ok(patient_from!(row))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(url)) = (args.next(), args.next()) else {
        return Err("usage: pg_reference ADDR DATABASE_URL".into());
    };
    let sqlx = PgPoolOptions::new().max_connections(POOL_SIZE).connect(&url).await?;
    let manager = Manager::from_config(url.parse()?, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let tp = Pool::builder(manager).max_size(POOL_SIZE as usize).build()?;
    // deadpool connects on first use: connect one now, so that a wrong URL fails here.
    drop(tp.get().await?);

    let router = Router::new()
        .route("/health/live", get(|| async { Json(json!({"status": "up"})) }))
        .route("/sqlx/patients/{id}", get(sqlx_find))
        .route("/sqlx/patients", post(sqlx_insert))
        .route("/tp/patients/{id}", get(tp_find))
        .route("/tp/patients", post(tp_insert))
        .with_state(Pools { sqlx, tp });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}
