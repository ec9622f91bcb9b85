//! The patients HTTP API (SPEC 2). Every route needs a token with scope `patients`.

use std::sync::Arc;

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use ferrum_platform::{
    Platform, auth,
    http::{LenientJson, Path, Query},
};
use serde::Deserialize;

use crate::{
    SCOPE,
    error::PatientsError,
    model::{Patient, PatientBody, PatientFields},
    store::{Page, Store, Versioned},
};

/// Page size when the client names none.
const DEFAULT_LIMIT: i64 = 100;
/// Largest page; larger requests are served this many.
const MAX_LIMIT: i64 = 1000;

/// What the handlers share.
#[derive(Clone, Debug)]
struct PatientsState {
    store: Store,
    external_url: Arc<str>,
}

/// The patients routes, guarded by scope `patients`, with their state.
pub fn routes(platform: &Platform) -> Router {
    let state = PatientsState { store: Store::new(platform.db.clone()), external_url: platform.external_url.clone() };
    let router = Router::new()
        .route("/api/v1/patients", get(list_patients).post(create_patient))
        .route("/api/v1/patients/{id}", get(find_patient).put(update_patient).delete(delete_patient))
        .with_state(state);
    auth::require(router, platform.auth.clone(), SCOPE)
}

type State = axum::extract::State<PatientsState>;

#[derive(Debug, Deserialize)]
struct ListParams {
    limit: Option<i64>,
    after_id: Option<i64>,
    q: Option<String>,
}

/// `GET /api/v1/patients`: a page ordered by id, with `Link: rel="next"` when more remain.
async fn list_patients(state: State, Query(params): Query<ListParams>) -> Result<Response, PatientsError> {
    let limit = match params.limit {
        None => DEFAULT_LIMIT,
        Some(n) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => return Err(PatientsError::BadRequest("limit must be at least 1".into())),
    };
    let query = params.q.as_deref().unwrap_or("");
    let page = Page { after_id: params.after_id.unwrap_or(0), query, limit: limit + 1 };
    let mut patients = state.store.list(&page).await?;
    let mut headers = HeaderMap::new();
    if patients.len() as i64 > limit {
        patients.truncate(limit as usize);
        if let Some(last) = patients.last() {
            let link = next_link(&state.external_url, limit, last.id, query);
            if let Ok(value) = HeaderValue::from_str(&link) {
                headers.insert(header::LINK, value);
            }
        }
    }
    Ok((headers, axum::Json(patients)).into_response())
}

fn next_link(external_url: &str, limit: i64, after_id: i64, query: &str) -> String {
    let mut link = format!("<{external_url}/api/v1/patients?limit={limit}&after_id={after_id}");
    if !query.is_empty() {
        link.push_str("&q=");
        link.extend(url::form_urlencoded::byte_serialize(query.as_bytes()));
    }
    link.push_str(">; rel=\"next\"");
    link
}

/// `POST /api/v1/patients`: 201 with `Location`.
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

/// `GET /api/v1/patients/{id}`: the patient with its `ETag`.
async fn find_patient(state: State, Path(id): Path<i64>) -> Result<Response, PatientsError> {
    let patient = state.store.find(id).await?.ok_or(PatientsError::PatientNotFound(id))?;
    Ok(answer(StatusCode::OK, patient))
}

/// `PUT /api/v1/patients/{id}`: replaces the fields when `If-Match` (or the body's `version`)
/// names the current version; 409 otherwise. With neither, the update is unconditional.
async fn update_patient(
    state: State,
    Path(id): Path<i64>,
    headers: HeaderMap,
    LenientJson(body): LenientJson<PatientBody>,
) -> Result<Response, PatientsError> {
    let expected = expected_version(&headers, body.version)?;
    let fields = PatientFields::try_from(body).map_err(PatientsError::Invalid)?;
    match state.store.update_versioned(id, fields, expected).await? {
        Versioned::Done(patient) => Ok(answer(StatusCode::OK, patient)),
        Versioned::NotFound => Err(PatientsError::PatientNotFound(id)),
        Versioned::Conflict { current } => {
            Err(PatientsError::VersionConflict { id, expected: expected.unwrap_or(current), current })
        }
    }
}

/// `DELETE /api/v1/patients/{id}`: 204; honours `If-Match` when sent.
async fn delete_patient(state: State, Path(id): Path<i64>, headers: HeaderMap) -> Result<StatusCode, PatientsError> {
    let expected = expected_version(&headers, None)?;
    match state.store.delete_versioned(id, expected).await? {
        Versioned::Done(()) => Ok(StatusCode::NO_CONTENT),
        Versioned::NotFound => Err(PatientsError::PatientNotFound(id)),
        Versioned::Conflict { current } => {
            Err(PatientsError::VersionConflict { id, expected: expected.unwrap_or(current), current })
        }
    }
}

/// The version a write is conditional on: `If-Match: "3"` (or `W/"3"`, or `*` for any), else
/// the body's `version`. Both present and different is a contradiction: 400.
fn expected_version(headers: &HeaderMap, body_version: Option<i64>) -> Result<Option<i64>, PatientsError> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(body_version) };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(body_version);
    }
    let tag = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    let version: i64 = tag
        .parse()
        .map_err(|_| PatientsError::BadRequest(format!("If-Match must be a version like \"3\", not {text}")))?;
    match body_version {
        Some(other) if other != version => {
            Err(PatientsError::BadRequest(format!("If-Match says version {version} but the body says {other}")))
        }
        _ => Ok(Some(version)),
    }
}

/// A patient answer with its `ETag`.
fn answer(status: StatusCode, patient: Patient) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", patient.version));
    let mut response = (status, axum::Json(patient)).into_response();
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
        assert_eq!(expected_version(&HeaderMap::new(), None).unwrap(), None);
        assert_eq!(expected_version(&HeaderMap::new(), Some(2)).unwrap(), Some(2));
        assert_eq!(expected_version(&if_match("\"3\""), None).unwrap(), Some(3));
        assert_eq!(expected_version(&if_match("W/\"3\""), Some(3)).unwrap(), Some(3));
        assert_eq!(expected_version(&if_match("*"), None).unwrap(), None);
        assert!(expected_version(&if_match("\"x\""), None).is_err());
        assert!(expected_version(&if_match("\"3\""), Some(4)).is_err());
    }

    #[test]
    fn next_links_carry_the_search() {
        assert_eq!(
            next_link("http://h", 10, 42, "van der"),
            "<http://h/api/v1/patients?limit=10&after_id=42&q=van+der>; rel=\"next\""
        );
    }
}
