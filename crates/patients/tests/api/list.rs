use ferrum_testkit::{Backend, both_backends};
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::{create_named, get, refused, spawn, token};

fn next_link(response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get(header::LINK)?.to_str().unwrap();
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    Some(link.trim_start_matches('<').split('>').next().unwrap().to_owned())
}

async fn lists_in_id_order(backend: Backend) {
    let app = spawn(backend).await;
    assert_eq!(get(&app, "/api/v1/patients").await.json::<Vec<Value>>().await.unwrap(), Vec::<Value>::new());
    for name in ["C", "A", "B"] {
        create_named(&app, name, "").await;
    }
    let response = get(&app, "/api/v1/patients").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::LINK).is_none());
    let names: Vec<String> =
        response.json::<Vec<Value>>().await.unwrap().iter().map(|p| p["first_name"].as_str().unwrap().into()).collect();
    assert_eq!(names, ["C", "A", "B"]);
}

async fn pages_follow_next_links_without_gaps_or_repeats(backend: Backend) {
    let app = spawn(backend).await;
    let mut created = Vec::new();
    for n in 0..7 {
        created.push(create_named(&app, &format!("P{n}"), "").await["id"].as_i64().unwrap());
    }
    let mut seen = Vec::new();
    let mut url = Some(app.url("/api/v1/patients?limit=3"));
    let mut pages = 0;
    while let Some(next) = url {
        let response = app.client.get(&next).bearer_auth(token(&app)).send().await.unwrap();
        url = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|p| p["id"].as_i64().unwrap()));
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    // Exactly a full last page: no dangling next link.
    let response = get(&app, &format!("/api/v1/patients?limit=3&after_id={}", created[3])).await;
    assert!(next_link(&response).is_none());
    assert_eq!(response.json::<Vec<Value>>().await.unwrap().len(), 3);
}

async fn searches_first_and_last_names_ignoring_case(backend: Backend) {
    let app = spawn(backend).await;
    create_named(&app, "Åsa", "Lindqvist").await;
    create_named(&app, "Erik", "Åström").await;
    create_named(&app, "Maria", "Larsson").await;
    create_named(&app, "100%", "under_score").await;
    let names =
        |body: Vec<Value>| -> Vec<String> { body.iter().map(|p| p["first_name"].as_str().unwrap().into()).collect() };
    let found = get(&app, "/api/v1/patients?q=%C3%85S").await.json().await.unwrap();
    assert_eq!(names(found), ["Åsa", "Erik"]);
    let found = get(&app, "/api/v1/patients?q=LARS").await.json().await.unwrap();
    assert_eq!(names(found), ["Maria"]);
    // LIKE wildcards in the query are taken literally.
    let found = get(&app, "/api/v1/patients?q=%25").await.json().await.unwrap();
    assert_eq!(names(found), ["100%"]);
    let found = get(&app, "/api/v1/patients?q=_").await.json().await.unwrap();
    assert_eq!(names(found), ["100%"]);
    // The search is kept in the next link.
    let response = get(&app, "/api/v1/patients?q=a&limit=1").await;
    let next = next_link(&response).unwrap();
    assert!(next.contains("q=a"), "{next}");
}

/// A search for U+0000 matches nothing, on both databases (PostgreSQL once answered 500).
async fn a_search_for_nul_matches_nothing(backend: Backend) {
    let app = spawn(backend).await;
    create_named(&app, "Ymir", "").await;
    for q in ["%00", "y%00", "%00%25"] {
        let response = get(&app, &format!("/api/v1/patients?q={q}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{q}");
        assert_eq!(response.json::<Vec<Value>>().await.unwrap(), Vec::<Value>::new(), "{q}");
    }
}

async fn checks_list_parameters(backend: Backend) {
    let app = spawn(backend).await;
    let cases = [
        ("limit=0", "limit must be at least 1"),
        ("limit=-1", "limit must be at least 1"),
        ("limit=abc", "limit: invalid digit"),
        ("after_id=x", "after_id: invalid digit"),
    ];
    for (bad, why) in cases {
        refused(get(&app, &format!("/api/v1/patients?{bad}")).await, StatusCode::BAD_REQUEST, why).await;
    }
    create_named(&app, "A", "").await;
    let capped = get(&app, "/api/v1/patients?limit=5000").await;
    assert_eq!(capped.status(), StatusCode::OK);
    assert_eq!(capped.json::<Vec<Value>>().await.unwrap().len(), 1);
}

both_backends!(
    a_search_for_nul_matches_nothing,
    lists_in_id_order,
    pages_follow_next_links_without_gaps_or_repeats,
    searches_first_and_last_names_ignoring_case,
    checks_list_parameters,
);
