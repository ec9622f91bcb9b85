//! The patients HTTP API (SPEC 2). Every route needs a token with scope `patients`.
//!
//! Each handler carries its `#[utoipa::path]`; [`routes()`] registers them with `routes!`, so the
//! router and the OpenAPI document are built from the same list and cannot drift.

use std::sync::Arc;

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use ferrum_platform::{
    Platform, auth,
    http::{
        Json, LenientJson, Path, Query,
        paging::{NextLink, Page, PageSize},
    },
    openapi::{
        BadRequest, Forbidden, GatewayTimeout, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized,
        UnprocessableEntity, UnsupportedMediaType,
    },
};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    SCOPE,
    error::{PatientsError, VersionConflict},
    model::{Patient, PatientBody, PatientFields},
    store::{ListPage, Store, Versioned},
};

/// The list's page size: 100 unless the client names one, at most 1000 (SPEC 2).
const PAGE_SIZE: PageSize = PageSize::new(100, 1000);

/// What the handlers share.
#[derive(Clone, Debug)]
struct PatientsState {
    store: Store,
    external_url: Arc<str>,
}

/// The module's part of the OpenAPI document besides its paths: the tag and its decisions.
#[derive(OpenApi)]
#[openapi(
    tags((name = "patients", description = include_str!("../docs/openapi-tag.md"))),
    components(responses(VersionConflict)),
)]
struct PatientsApi;

/// The patients routes, guarded by scope `patients`, with their state and their OpenAPI paths.
pub fn routes(platform: &Platform) -> OpenApiRouter {
    let state = PatientsState { store: Store::new(platform.db.clone()), external_url: platform.external_url.clone() };
    let router = OpenApiRouter::with_openapi(PatientsApi::openapi())
        .routes(routes!(list_patients, create_patient))
        .routes(routes!(find_patient, update_patient, delete_patient))
        .with_state(state);
    auth::require(router, platform.auth.clone(), SCOPE)
}

type State = axum::extract::State<PatientsState>;

/// The query of `GET /api/v1/patients`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Page size, default 100. Above 1000 is served as 1000; below 1 is 400.
    #[param(minimum = 1, example = 10)]
    limit: Option<i64>,
    /// Keyset pagination: only patients whose id is greater than this (default 0).
    after_id: Option<i64>,
    /// Case-insensitive substring of the first or last name (Unicode-aware; `%` and `_` are
    /// taken literally).
    #[param(example = "odin")]
    q: Option<String>,
}

/// The `If-Match` header of `PUT` and `DELETE`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
struct IfMatch {
    /// `"<version>"`, `W/"<version>"` (or a bare `<version>`, for curl users) makes the write
    /// conditional: 409 with the current `ETag` when stale. `*` makes it unconditional. A version
    /// has 1 to 18 digits; anything else is 400.
    #[serde(rename = "If-Match")]
    // A header is text or absent, never null (schemathesis sends `null` for a nullable one).
    #[param(nullable = false, pattern = r#"^(\*|(W/)?"[0-9]{1,18}"|[0-9]{1,18})$"#, example = "\"3\"")]
    _if_match: Option<String>,
}

/// List patients, ordered by id.
///
/// Pages with `limit` and `after_id`; the `Link` header names the next page exactly when more
/// patients remain, keeping `limit` and `q`.
#[utoipa::path(
    get, path = "/api/v1/patients", tag = "patients", security(("bearer" = ["patients"])),
    params(ListParams),
    responses(
        (status = 200, description = "A page of patients.", body = [Patient],
            headers(("Link" = String, description = "`<{external-url}/api/v1/patients?limit=..&after_id=..>; rel=\"next\"`, present exactly when more patients remain."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    )
)]
async fn list_patients(state: State, Query(params): Query<ListParams>) -> Result<Response, PatientsError> {
    let limit = PAGE_SIZE.of(params.limit).map_err(|refused| PatientsError::BadRequest(refused.to_string()))?;
    let query = params.q.as_deref().unwrap_or("");
    let rows = state.store.list(&ListPage { after_id: params.after_id.unwrap_or(0), query, limit }).await?;
    let page = Page::of(rows, limit);
    let next = page.next_key(|last| last.id).map(|after_id| {
        NextLink::new(&state.external_url, "/api/v1/patients")
            .param("limit", limit)
            .param("after_id", after_id)
            .param_if("q", Some(query).filter(|q| !q.is_empty()))
    });
    Ok((next, Json(page.items)).into_response())
}

/// Create a patient.
///
/// Also reads `application/x-www-form-urlencoded` holding raw JSON, which is what
/// `curl --data '{...}'` sends (the original Ferrum's clients). Two patients may share a name.
#[utoipa::path(
    post, path = "/api/v1/patients", tag = "patients", security(("bearer" = ["patients"])),
    request_body(content = PatientBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = Patient, headers(
            ("Location" = String, description = "`{external-url}/api/v1/patients/{id}`."),
            ("ETag" = String, description = "The version in quotes: `\"1\"`."),
        )),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    )
)]
async fn create_patient(state: State, LenientJson(body): LenientJson<PatientBody>) -> Result<Response, PatientsError> {
    let fields = PatientFields::try_from(body).map_err(PatientsError::Invalid)?;
    let patient = state.store.insert(fields).await?;
    let location = format!("{}/api/v1/patients/{}", state.external_url, patient.id);
    let mut response = answer(StatusCode::CREATED, patient);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Find a patient by id.
#[utoipa::path(
    get, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = ["patients"])),
    params(("id" = i64, Path, description = "The patient's id; not an integer: 400.")),
    responses(
        (status = 200, description = "The patient.", body = Patient,
            headers(("ETag" = String, description = "The version in quotes, for `If-Match`: `\"3\"`."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    )
)]
async fn find_patient(state: State, Path(id): Path<i64>) -> Result<Response, PatientsError> {
    let patient = state.store.find(id).await?.ok_or(PatientsError::PatientNotFound(id))?;
    Ok(answer(StatusCode::OK, patient))
}

/// Replace a patient's fields.
///
/// `If-Match: "<version>"` (or `W/"<version>"`), or the body's `version`, makes the update
/// conditional: 409 with the current `ETag` when stale, and when both are given and differ (they
/// cannot both be current). `If-Match: *`, or neither, makes it unconditional. Fields left out
/// become `""`.
#[utoipa::path(
    put, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = ["patients"])),
    params(
        ("id" = i64, Path, description = "The patient's id; not an integer: 400."),
        IfMatch,
    ),
    request_body(content = PatientBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated patient.", body = Patient,
            headers(("ETag" = String, description = "The new version in quotes."))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = VersionConflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    )
)]
async fn update_patient(
    state: State,
    Path(id): Path<i64>,
    headers: HeaderMap,
    LenientJson(body): LenientJson<PatientBody>,
) -> Result<Response, PatientsError> {
    let expected = match (if_match_version(&headers)?, body.version) {
        (Some(header), Some(body)) if header != body => return Err(contradiction(&state, id, header, body).await),
        (header, body) => header.or(body),
    };
    let fields = PatientFields::try_from(body).map_err(PatientsError::Invalid)?;
    let patient = written(state.store.update_versioned(id, fields, expected).await?, id, expected)?;
    Ok(answer(StatusCode::OK, patient))
}

/// The answer to an update whose `If-Match` and body `version` differ: no write can honour both,
/// so it is the 409 of a stale version (SPEC 2: each must match the current one), or 404.
async fn contradiction(state: &PatientsState, id: i64, header: i64, body: i64) -> PatientsError {
    match state.store.find(id).await {
        Ok(Some(patient)) => {
            let expected = if header == patient.version { body } else { header };
            PatientsError::VersionConflict { id, expected, current: patient.version }
        }
        Ok(None) => PatientsError::PatientNotFound(id),
        Err(error) => error.into(),
    }
}

/// Delete a patient. Its id is never reused.
///
/// Honours `If-Match` as `PUT` does: 409 with the current `ETag` when stale.
#[utoipa::path(
    delete, path = "/api/v1/patients/{id}", tag = "patients", security(("bearer" = ["patients"])),
    params(
        ("id" = i64, Path, description = "The patient's id; not an integer: 400."),
        IfMatch,
    ),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = VersionConflict),
        (status = 503, response = ServiceUnavailable),
        (status = 504, response = GatewayTimeout),
    )
)]
async fn delete_patient(state: State, Path(id): Path<i64>, headers: HeaderMap) -> Result<StatusCode, PatientsError> {
    let expected = if_match_version(&headers)?;
    written(state.store.delete_versioned(id, expected).await?, id, expected)?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a versioned write of patient `id` came to: its result, or the error a miss means.
fn written<T>(outcome: Versioned<T>, id: i64, expected: Option<i64>) -> Result<T, PatientsError> {
    match outcome {
        Versioned::Done(value) => Ok(value),
        Versioned::NotFound => Err(PatientsError::PatientNotFound(id)),
        Versioned::Conflict { current } => {
            Err(PatientsError::VersionConflict { id, expected: expected.unwrap_or(current), current })
        }
    }
}

/// The version `If-Match` makes a write conditional on: `"3"`, `W/"3"` or a bare `3`; `None`
/// when the header is absent or `*`. The document's `If-Match` pattern states the same grammar.
fn if_match_version(headers: &HeaderMap) -> Result<Option<i64>, PatientsError> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    fn quoted(tag: &str) -> Option<&str> {
        tag.strip_prefix('"')?.strip_suffix('"')
    }
    let digits = match text.strip_prefix("W/") {
        Some(weak) => quoted(weak),
        None => quoted(text).or(Some(text)),
    };
    // 18 digits always fit in an i64, so a version is never wrapped or refused for its size alone.
    digits
        .filter(|d| (1..=18).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| PatientsError::BadRequest(format!("If-Match must be a version like \"3\", not {text}")))
}

/// A patient answer with its `ETag`.
fn answer(status: StatusCode, patient: Patient) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", patient.version));
    let mut response = (status, Json(patient)).into_response();
    if let Ok(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn reads_if_match() {
        let version = |value: &str| if_match_version(&if_match(value)).unwrap();
        assert_eq!(if_match_version(&HeaderMap::new()).unwrap(), None);
        assert_eq!(version("\"3\""), Some(3));
        assert_eq!(version("W/\"3\""), Some(3));
        assert_eq!(version("3"), Some(3));
        assert_eq!(version("*"), None);
        assert_eq!(version("\"999999999999999999\""), Some(999_999_999_999_999_999));
        for bad in [
            "\"x\"",
            "null",
            "\"",
            "\"3",
            "3\"",
            "\"\"3\"\"",
            "W/3",
            "w/\"3\"",
            "\"-3\"",
            "\"1\", \"2\"",
            "\"\"",
            "\"9223372036854775807\"",
            "\"99999999999999999999\"",
        ] {
            assert!(if_match_version(&if_match(bad)).is_err(), "{bad}");
        }
    }

    /// The grammar the document states for `If-Match` is the one the code reads.
    #[test]
    fn the_documented_if_match_pattern_is_the_grammar() {
        let params = serde_json::to_value(IfMatch::into_params(|| None)).unwrap();
        assert_eq!(params[0]["name"], "If-Match");
        assert_eq!(params[0]["schema"]["type"], "string", "a header is never null");
        let pattern = regex::Regex::new(params[0]["schema"]["pattern"].as_str().unwrap()).unwrap();
        for value in [
            "*",
            "\"3\"",
            "W/\"3\"",
            "3",
            "\"x\"",
            "null",
            "\"",
            "\"3",
            "W/3",
            "\"-3\"",
            "\"1\", \"2\"",
            "**",
            "\"123456789012345678\"",
            "\"1234567890123456789\"",
            "0",
            "\"00\"",
        ] {
            assert_eq!(pattern.is_match(value), if_match_version(&if_match(value)).is_ok(), "{value}");
        }
    }
}
