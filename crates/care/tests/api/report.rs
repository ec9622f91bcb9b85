//! `/events/report`: exact JSON over several caregivers, filters by caregiver and time (half-open),
//! refused filters, the CSV form, and the same report by GET query, GET body and POST body.

use ferrum_testkit::{Backend, TestApp, both_backends};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{ALL_SCOPES, assert_fail, call, create_event, create_type, report, spawn, token_for};

/// Events of caregivers 3, 9 and 10 over three months, one reimbursed.
async fn seeded(backend: Backend) -> TestApp {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 250_000).await;
    let visit = create_type(&app, "visit", 1_250).await;
    let odd = create_type(&app, "odd", 11_249).await;
    let reimbursed = create_event(&app, xray, 3, "2017-01-10T08:00:00Z").await;
    call(&app, Method::POST, &format!("/events/{reimbursed}/reimburse"), None).await;
    create_event(&app, visit, 3, "2017-01-20T08:00:00Z").await;
    create_event(&app, odd, 10, "2017-01-31T23:59:59.999999Z").await;
    // 23:30 at -01:00 is 00:30 UTC on February 1st: February, not January.
    create_event(&app, visit, 9, "2017-01-31T23:30:00-01:00").await;
    create_event(&app, visit, 3, "2016-12-31T23:59:59").await;
    app
}

/// The report's exact text in the answer to a GET of `query` (with `Accept` and a body when
/// given), keys in the order sent.
async fn report_text(app: &TestApp, query: &str, body: Option<&str>) -> (StatusCode, String) {
    let mut request =
        app.client.get(app.url(&format!("/events/report{query}"))).bearer_auth(token_for(app, "care", None));
    if let Some(body) = body {
        request = request.header(header::CONTENT_TYPE, "application/json").body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let Some((_, rest)) = text.split_once("{\"status\":\"success\",\"data\":{\"report\":") else {
        return (status, text);
    };
    let (report, generated_at) = rest.rsplit_once(",\"generated_at\":").unwrap();
    let generated_at = generated_at.trim_end_matches("}}").trim_matches('"');
    assert!(ferrum_platform::time::parse_rfc3339(generated_at).is_ok(), "{generated_at}");
    (status, report.to_owned())
}

const FULL: &str = concat!(
    r#"{"2016":{"Dec":{"3":{"non-reimbursed SEK":12.5}}},"#,
    r#""2017":{"Jan":{"3":{"non-reimbursed SEK":12.5,"reimbursed SEK":2500},"10":{"non-reimbursed SEK":112.49}},"#,
    r#""Feb":{"9":{"non-reimbursed SEK":12.5}}}}"#
);

async fn reports_every_caregiver_in_order_with_exact_amounts(backend: Backend) {
    let app = seeded(backend).await;
    assert_eq!(report_text(&app, "", None).await, (StatusCode::OK, FULL.to_owned()));
    assert_eq!(report_text(&app, "?caregiver_ids=", None).await, (StatusCode::OK, FULL.to_owned()));
    assert_eq!(report_text(&app, "", Some("{}")).await, (StatusCode::OK, FULL.to_owned()));
    assert_eq!(report(&app, json!({"caregiver_ids": []})).await, serde_json::from_str::<Value>(FULL).unwrap());
}

async fn filters_by_caregiver(backend: Backend) {
    let app = seeded(backend).await;
    let expected =
        json!({"2017": {"Jan": {"10": {"non-reimbursed SEK": 112.49}}, "Feb": {"9": {"non-reimbursed SEK": 12.5}}}});
    assert_eq!(report(&app, json!({"caregiver_ids": [9, 10]})).await, expected);
    let (status, text) = report_text(&app, "?caregiver_ids=10,9", None).await;
    assert_eq!((status, serde_json::from_str::<Value>(&text).unwrap()), (StatusCode::OK, expected.clone()));
    let (status, text) = report_text(&app, "", Some(r#"{"caregiver_ids":[10,9]}"#)).await;
    assert_eq!((status, serde_json::from_str::<Value>(&text).unwrap()), (StatusCode::OK, expected));
    assert_eq!(report(&app, json!({"caregiver_ids": [77]})).await, json!({}));
}

async fn filters_by_half_open_time_ranges(backend: Backend) {
    let app = seeded(backend).await;
    // A partial month at each edge: from inside January to inside February.
    let filter = json!({"min_time": "2017-01-15T00:00:00Z", "max_time": "2017-02-01T00:30:00Z"});
    assert_eq!(
        report(&app, filter).await,
        json!({"2017": {"Jan": {"3": {"non-reimbursed SEK": 12.5}, "10": {"non-reimbursed SEK": 112.49}}}})
    );
    // min_time is included, max_time excluded; offsets are honoured in bounds too.
    let filter = json!({"min_time": "2017-02-01T01:30:00+01:00", "max_time": "2017-02-01T00:30:00.000001Z"});
    assert_eq!(report(&app, filter).await, json!({"2017": {"Feb": {"9": {"non-reimbursed SEK": 12.5}}}}));
    // Whole months only (from the totals), by query parameters, naive times read as UTC.
    let (status, text) = report_text(&app, "?min_time=2017-01-01&max_time=2017-02-01T00:00:00", None).await;
    assert_eq!(status, StatusCode::OK);
    let january = json!({"2017": {"Jan": {"3": {"non-reimbursed SEK": 12.5, "reimbursed SEK": 2500}, "10": {"non-reimbursed SEK": 112.49}}}});
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), january);
    // Open at one end.
    assert_eq!(
        report(&app, json!({"max_time": "2017-01-01T00:00:00Z"})).await,
        json!({"2016": {"Dec": {"3": {"non-reimbursed SEK": 12.5}}}})
    );
    assert_eq!(
        report(&app, json!({"min_time": "2017-02-01T00:00:00Z", "max_time": null})).await,
        json!({"2017": {"Feb": {"9": {"non-reimbursed SEK": 12.5}}}})
    );
    // An empty range.
    let empty = json!({"min_time": "2017-01-10T08:00:00Z", "max_time": "2017-01-10T08:00:00Z"});
    assert_eq!(report(&app, empty).await, json!({}));
}

async fn refuses_bad_filters(backend: Backend) {
    let app = seeded(backend).await;
    for body in [
        json!({"caregiver_ids": "3"}),
        json!({"caregiver_ids": [0]}),
        json!({"caregiver_ids": [3.5]}),
        json!({"caregiver_ids": ["3"]}),
        json!({"min_time": "now"}),
        json!({"max_time": "infinity"}),
        json!({"min_time": "2017-02-30T00:00:00"}),
        json!({"min_time": 1_483_228_800}),
        json!({"min_time": "2017-02-01T00:00:00Z", "max_time": "2017-01-01T00:00:00Z"}),
        json!([3, 4]),
    ] {
        let answer = call(&app, Method::POST, "/events/report", Some(body.clone())).await;
        assert_fail(answer, StatusCode::BAD_REQUEST, "Invalid payload.");
    }
    for query in
        ["?caregiver_ids=a,b", "?caregiver_ids=3,", "?caregiver_ids=-3", "?min_time=now", "?max_time=2017-13-01"]
    {
        let (status, text) = report_text(&app, query, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["message"], "Invalid payload.", "{query}");
    }
    let (status, text) = report_text(&app, "?caregiver_ids=3", Some("{}")).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid payload."))
    );
    let (status, text) = report_text(&app, "", Some("{\"caregiver_ids\":")).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()),
        (StatusCode::BAD_REQUEST, json!({"status": "fail", "message": "Invalid payload."}))
    );
}

async fn answers_csv_when_asked(backend: Backend) {
    let app = seeded(backend).await;
    let token = token_for(&app, ALL_SCOPES, None);
    let expected = "year,month,caregiver_id,reimbursed,amount_sek,events\r\n\
        2016,Dec,3,false,12.5,1\r\n\
        2017,Jan,3,false,12.5,1\r\n\
        2017,Jan,3,true,2500,1\r\n\
        2017,Jan,10,false,112.49,1\r\n\
        2017,Feb,9,false,12.5,1\r\n";
    let get = app
        .client
        .get(app.url("/events/report"))
        .bearer_auth(&token)
        .header(header::ACCEPT, "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(get.text().await.unwrap(), expected);
    let post = app
        .client
        .post(app.url("/events/report"))
        .bearer_auth(&token)
        .header(header::ACCEPT, "text/csv")
        .json(&json!({"caregiver_ids": [9]}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::OK);
    assert_eq!(
        post.text().await.unwrap(),
        "year,month,caregiver_id,reimbursed,amount_sek,events\r\n2017,Feb,9,false,12.5,1\r\n"
    );
}

both_backends!(
    reports_every_caregiver_in_order_with_exact_amounts,
    filters_by_caregiver,
    filters_by_half_open_time_ranges,
    refuses_bad_filters,
    answers_csv_when_asked,
);
