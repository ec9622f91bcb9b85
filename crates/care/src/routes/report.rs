//! `/events/report`: the monthly reimbursement report, by GET (query parameters, or a JSON body)
//! or POST (a JSON body), as JSON or, with `Accept: text/csv`, as CSV.

use axum::{
    body::HttpBody as _,
    extract::{FromRequest, Request},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use ferrum_platform::{
    http::{LenientJson, object::Object},
    time,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CareJson, State, answer, events::time_range};
use crate::{
    access::Caregivers,
    csv,
    envelope::{Data, Guarded, InvalidPayload, WithBody},
    error::CareError,
    report::{Report, ReportFilter},
};

/// The report's filter as query parameters (`GET`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ReportParams {
    /// Comma-separated caregiver ids (`3,4,5`); absent or empty: every caregiver (the caller may see).
    #[param(example = "3,4,5")]
    caregiver_ids: Option<String>,
    /// Only events with `min_time <= start_time` (RFC 3339, or ISO 8601 read as UTC).
    #[param(example = "2017-01-01T00:00:00Z")]
    min_time: Option<String>,
    /// Only events with `start_time < max_time`.
    #[param(example = "2018-01-01T00:00:00Z")]
    max_time: Option<String>,
}

/// The report's filter as a JSON body (`POST`, or `GET` with a body). Every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"caregiver_ids": [3, 4, 5], "min_time": "2017-01-01T00:00:00Z", "max_time": "2018-01-01T00:00:00Z"}))]
pub(super) struct ReportBody {
    /// Caregiver ids; absent, null or empty: every caregiver (the caller may see).
    #[serde(default, deserialize_with = "whole_numbers")]
    #[schema(value_type = Option<Vec<i64>>)]
    caregiver_ids: Option<Vec<i64>>,
    /// Only events with `min_time <= start_time`.
    #[schema(value_type = Option<String>)]
    min_time: Option<String>,
    /// Only events with `start_time < max_time`.
    #[schema(value_type = Option<String>)]
    max_time: Option<String>,
}

/// An array of integers read as JSON Schema reads them (`3.0` is 3), or null.
fn whole_numbers<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<i64>>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "ferrum_platform::http::integer::optional_i64")] Option<i64>);
    let items = Option::<Vec<Whole>>::deserialize(deserializer)?;
    items
        .map(|items| {
            items
                .into_iter()
                .map(|Whole(id)| id.ok_or_else(|| serde::de::Error::custom("must be an integer, not null")))
                .collect()
        })
        .transpose()
}

/// `data` of the report.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ReportData {
    /// `report[year][Mon][caregiver_id]["non-reimbursed SEK" | "reimbursed SEK"]`: exact SEK.
    report: Report,
    /// When the report was made: RFC 3339, UTC.
    #[serde(serialize_with = "ferrum_platform::time::serialize")]
    generated_at: DateTime<Utc>,
}

/// The report's filter from the query, or from a body when the request has one.
pub(super) struct FilterInput(ReportBody);

impl<S: Send + Sync> FromRequest<S> for FilterInput {
    type Rejection = CareError;

    async fn from_request(request: Request, state: &S) -> Result<Self, CareError> {
        let axum::extract::Query(params) = axum::extract::Query::<ReportParams>::try_from_uri(request.uri())
            .map_err(|rejection| CareError::invalid("query", rejection.body_text()))?;
        let has_body = !request.body().is_end_stream() || request.headers().contains_key(header::CONTENT_TYPE);
        if !has_body {
            let caregiver_ids = params.caregiver_ids.as_deref().map(caregiver_list).transpose()?;
            return Ok(FilterInput(ReportBody { caregiver_ids, min_time: params.min_time, max_time: params.max_time }));
        }
        if params.caregiver_ids.is_some() || params.min_time.is_some() || params.max_time.is_some() {
            return Err(CareError::invalid("query", "give the filter in the query or in the body, not both"));
        }
        let LenientJson(Object(body)) = LenientJson::<Object<ReportBody>>::from_request(request, state).await?;
        Ok(FilterInput(body))
    }
}

/// `3,4,5` as caregiver ids; empty: none named.
fn caregiver_list(text: &str) -> Result<Vec<i64>, CareError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|id| id.trim().parse::<i64>().ok().filter(|id| *id >= 1))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| CareError::invalid("caregiver_ids", "must be positive integers separated by commas"))
}

/// The report by query parameters (or a JSON body).
///
/// With a body (`application/json`, or `curl --data`), the filter is the body, as for `POST`,
/// and the query must hold none. `Accept: text/csv` answers CSV.
#[utoipa::path(
    get, path = "/events/report", tag = "care", params(ReportParams),
    responses(
        (status = 200, description = "The report.", content(
            (Data<ReportData> = "application/json", example = json!({"status": "success", "data": {
                "report": {"2017": {"Jan": {"3": {"non-reimbursed SEK": 12.5, "reimbursed SEK": 2500}}}},
                "generated_at": "2026-01-02T03:04:05.123456Z"}})),
            (String = "text/csv", example = "year,month,caregiver_id,reimbursed,amount_sek,events\r\n2017,Jan,3,false,12.5,1\r\n"),
        )),
        (status = 400, response = InvalidPayload),
        WithBody,
        Guarded,
    ),
)]
pub(super) async fn report_by_query(
    state: State,
    visible: Caregivers,
    headers: HeaderMap,
    FilterInput(filter): FilterInput,
) -> Result<Response, CareError> {
    report(&state, &visible, &headers, filter).await
}

/// The report by a JSON body.
///
/// `{}` is every caregiver (the caller may see) at every time. `Accept: text/csv` answers CSV.
#[utoipa::path(
    post, path = "/events/report", tag = "care",
    request_body(content = ReportBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The report.", content(
            (Data<ReportData> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, response = InvalidPayload),
        WithBody,
        Guarded,
    ),
)]
pub(super) async fn report_by_body(
    state: State,
    visible: Caregivers,
    headers: HeaderMap,
    CareJson(Object(filter)): CareJson<Object<ReportBody>>,
) -> Result<Response, CareError> {
    report(&state, &visible, &headers, filter).await
}

async fn report(
    state: &State,
    visible: &Caregivers,
    headers: &HeaderMap,
    filter: ReportBody,
) -> Result<Response, CareError> {
    if filter.caregiver_ids.iter().flatten().any(|id| *id < 1) {
        return Err(CareError::invalid("caregiver_ids", "must be positive integers"));
    }
    let (min_time, max_time) = time_range(filter.min_time.as_deref(), filter.max_time.as_deref())?;
    let filter = ReportFilter { caregivers: visible.narrow(filter.caregiver_ids)?, min_time, max_time };
    let report = state.store.report(&filter).await?;
    if wants_csv(headers) {
        let content_type = HeaderValue::from_static("text/csv; charset=utf-8");
        return Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], csv::render(&report)).into_response());
    }
    Ok(answer(StatusCode::OK, Data::new(ReportData { report, generated_at: time::now() })))
}

/// True when `Accept` names `text/csv` (and does not refuse it with `q=0`).
fn wants_csv(headers: &HeaderMap) -> bool {
    let ranges = headers.get_all(header::ACCEPT).iter().filter_map(|value| value.to_str().ok());
    ranges.flat_map(|value| value.split(',')).any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let csv = parts.next().is_some_and(|media| media.eq_ignore_ascii_case("text/csv"));
        let refused = parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()) == Some(0.0));
        csv && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_caregiver_lists() {
        assert_eq!(caregiver_list("3,4, 5").unwrap(), [3, 4, 5]);
        assert_eq!(caregiver_list("").unwrap(), Vec::<i64>::new());
        for bad in ["3,", "a", "0", "-1", "3;4", "1.5"] {
            assert!(caregiver_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_when_asked() {
        let accept = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
            wants_csv(&headers)
        };
        assert!(accept("text/csv"));
        assert!(accept("application/json;q=0.5, TEXT/CSV"));
        assert!(!accept("text/csv;q=0"));
        assert!(!accept("application/json"));
        assert!(!accept("*/*"));
        assert!(!wants_csv(&HeaderMap::new()));
    }
}
