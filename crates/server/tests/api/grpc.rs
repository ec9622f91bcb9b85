//! Calc over gRPC (SPEC 6) through real sockets: on the HTTP port beside the REST routes, and
//! on the gRPC-only port; status codes, health, reflection, metrics and shutdown.

use std::time::Duration;

use ferrum_calc::proto::{AddRequest, MaxRequest, NthPrimesRequest, calc_client::CalcClient};
use ferrum_testkit::{Backend, TestDb};
use tonic::{Code, Request, Status, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::Server;

async fn started(flags: &[&str]) -> (TestDb, Server) {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let server = Server::start(&db.url, flags);
    server.wait_ready(Duration::from_secs(10)).await;
    (db, server)
}

async fn channel(url: &str) -> Channel {
    Channel::from_shared(url.to_owned()).unwrap().connect().await.expect("gRPC connection")
}

async fn calc(url: &str) -> CalcClient<Channel> {
    CalcClient::new(channel(url).await)
}

async fn nth_primes(client: &mut CalcClient<Channel>, n: Vec<u64>) -> Result<Vec<u64>, Status> {
    client.nth_primes(NthPrimesRequest { n }).await.map(|r| r.into_inner().nth_primes)
}

async fn add(client: &mut CalcClient<Channel>, a: i64, b: i64) -> Result<i64, Status> {
    client.add(AddRequest { a, b }).await.map(|r| r.into_inner().sum)
}

/// Add, Max and NthPrimes answer correctly at `url`, with no token.
async fn answers_every_method(url: &str) {
    let mut client = calc(url).await;
    assert_eq!(add(&mut client, 2, 5).await.unwrap(), 7);
    assert_eq!(add(&mut client, -9, 4).await.unwrap(), -5);
    assert_eq!(client.max(MaxRequest { a: -3, b: -8 }).await.unwrap().into_inner().max, -3);
    let known = nth_primes(&mut client, vec![1, 12, 10_001, 1_000_000]).await.unwrap();
    assert_eq!(known, [2, 37, 104_743, 15_485_863]);
    let ordered = nth_primes(&mut client, vec![6, 1, 6, 2, 1]).await.unwrap();
    assert_eq!(ordered, [13, 2, 13, 3, 2], "input order and duplicates are kept");
    assert!(nth_primes(&mut client, vec![]).await.unwrap().is_empty());
    // A client deadline well within reach is honoured, not tripped over.
    let mut request = Request::new(NthPrimesRequest { n: vec![100] });
    request.set_timeout(Duration::from_secs(10));
    assert_eq!(client.nth_primes(request).await.unwrap().into_inner().nth_primes, [541]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_calc_on_the_http_port_beside_rest() {
    let (_db, server) = started(&[]).await;
    answers_every_method(&server.base).await;
    // REST on the same port, over HTTP/1.1, still works as before.
    assert_eq!(server.status("/health/live").await, 200);
    assert_eq!(server.status("/api/v1/patients").await, 401);
    assert_eq!(server.status("/calc.Nope").await, 404);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_calc_on_the_grpc_port_too() {
    let (_db, server) = started(&["--grpc-port", "0"]).await;
    let grpc = server.grpc.clone().expect("a gRPC port");
    assert_ne!(grpc, server.base);
    answers_every_method(&grpc).await;
    answers_every_method(&server.base).await;
    // The gRPC port serves calc alone.
    let rest = server.client.get(format!("{grpc}/health/live")).send().await.unwrap();
    assert_eq!(rest.status(), 404);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_their_status_code_and_name_the_value() {
    let (_db, server) = started(&["--calc-max-n", "1000000"]).await;
    let mut client = calc(&server.base).await;

    let overflow = add(&mut client, i64::MAX, 1).await.unwrap_err();
    assert_eq!(overflow.code(), Code::OutOfRange, "{overflow:?}");
    assert!(overflow.message().contains("9223372036854775807 + 1"), "{overflow:?}");
    let underflow = add(&mut client, i64::MIN, -2).await.unwrap_err();
    assert_eq!(underflow.code(), Code::OutOfRange, "{underflow:?}");
    assert!(underflow.message().contains("-9223372036854775808 + -2"), "{underflow:?}");

    for (ns, named) in
        [(vec![5, 0, 7], "n = 0"), (vec![1_000_001], "n = 1000001"), (vec![3, u64::MAX], "18446744073709551615")]
    {
        let status = nth_primes(&mut client, ns.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{ns:?}: {status:?}");
        assert!(status.message().contains(named), "{ns:?}: {status:?}");
        assert!(status.message().contains("1000000"), "the maximum is named: {status:?}");
    }
    let too_many = nth_primes(&mut client, vec![1; 10_001]).await.unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument, "{too_many:?}");
    assert!(too_many.message().contains("10001") && too_many.message().contains("10000"), "{too_many:?}");
    assert_eq!(nth_primes(&mut client, vec![1; 10_000]).await.unwrap().len(), 10_000);
    server.stop().await.unwrap();
}

/// The server's request timeout ends a long call as gRPC's DEADLINE_EXCEEDED from calc itself:
/// the platform's HTTP deadline (a 504, which a gRPC client would read as UNAVAILABLE) leaves
/// gRPC calls alone, so the two cannot race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_timeout_ends_a_long_call_with_deadline_exceeded() {
    let (_db, server) = started(&["--timeout", "200ms", "--calc-max-n", "1e13"]).await;
    let mut client = calc(&server.base).await;
    // Counting primes near 10^13 takes seconds each; nothing else could end the call sooner.
    let heavy: Vec<u64> = (0..8).map(|i| 10_000_000_000_000 - i * 1_000_000_000).collect();
    let started = std::time::Instant::now();
    let status = nth_primes(&mut client, heavy).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "ended after {:?}", started.elapsed());
    assert_eq!(add(&mut client, 1, 2).await.unwrap(), 3, "the server still answers");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_work_with_no_proto_file() {
    let (_db, server) = started(&["--grpc-port", "0"]).await;
    for url in [server.base.clone(), server.grpc.clone().unwrap()] {
        let mut health = HealthClient::new(channel(&url).await);
        for service in ["", "calc.Calc"] {
            let request = HealthCheckRequest { service: service.into() };
            let status = health.check(request).await.unwrap().into_inner().status;
            assert_eq!(status, ServingStatus::Serving as i32, "{url} {service:?}");
        }
        let unknown = health.check(HealthCheckRequest { service: "calc.Nope".into() }).await.unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);

        let services = reflected_services(&url).await;
        for name in ["calc.Calc", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"] {
            assert!(services.iter().any(|s| s == name), "{url}: {name} missing from {services:?}");
        }
        let described = reflected_file(&url, "calc.Calc").await;
        assert!(described.contains("NthPrimesRequest") && described.contains("calc.proto"), "{described}");
        let v1alpha = reflected_services_v1alpha(&url).await;
        assert!(v1alpha.iter().any(|s| s == "calc.Calc"), "{v1alpha:?}");
    }
    server.stop().await.unwrap();
}

async fn reflect(
    url: &str,
    request: tonic_reflection::pb::v1::server_reflection_request::MessageRequest,
) -> tonic_reflection::pb::v1::server_reflection_response::MessageResponse {
    use tonic_reflection::pb::v1::{ServerReflectionRequest, server_reflection_client::ServerReflectionClient};
    let mut client = ServerReflectionClient::new(channel(url).await);
    let request = ServerReflectionRequest { host: String::new(), message_request: Some(request) };
    let mut answers = client.server_reflection_info(futures_util::stream::iter([request])).await.unwrap().into_inner();
    answers.message().await.unwrap().unwrap().message_response.unwrap()
}

async fn reflected_services(url: &str) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    match reflect(url, MessageRequest::ListServices(String::new())).await {
        MessageResponse::ListServicesResponse(list) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("not a service list: {other:?}"),
    }
}

/// The file descriptors that define `symbol`, as lossy text (enough to look for names in).
async fn reflected_file(url: &str, symbol: &str) -> String {
    use tonic_reflection::pb::v1::{
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    match reflect(url, MessageRequest::FileContainingSymbol(symbol.into())).await {
        MessageResponse::FileDescriptorResponse(files) => {
            files.file_descriptor_proto.iter().map(|file| String::from_utf8_lossy(file).into_owned()).collect()
        }
        other => panic!("not a file descriptor: {other:?}"),
    }
}

async fn reflected_services_v1alpha(url: &str) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut client = ServerReflectionClient::new(channel(url).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client.server_reflection_info(futures_util::stream::iter([request])).await.unwrap().into_inner();
    match answers.message().await.unwrap().unwrap().message_response.unwrap() {
        MessageResponse::ListServicesResponse(list) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("not a service list: {other:?}"),
    }
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_calls_by_method_and_status_code() {
    let (_db, server) = started(&["--grpc-port", "0"]).await;
    let mut shared = calc(&server.base).await;
    let mut own = calc(server.grpc.as_deref().unwrap()).await;
    add(&mut shared, 1, 2).await.unwrap();
    add(&mut own, 1, 2).await.unwrap();
    add(&mut shared, i64::MAX, 1).await.unwrap_err();
    nth_primes(&mut shared, vec![0]).await.unwrap_err();
    nth_primes(&mut own, vec![3, 4]).await.unwrap();

    let text = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let handled = |method: &str, code: &str| {
        let series = format!(
            r#"grpc_server_handled_total{{grpc_service="calc.Calc",grpc_method="{method}",grpc_code="{code}"}}"#
        );
        sample(&text, &series)
    };
    assert_eq!(handled("Add", "OK"), Some(2.0), "both ports count: {text}");
    assert_eq!(handled("Add", "OutOfRange"), Some(1.0), "{text}");
    assert_eq!(handled("NthPrimes", "InvalidArgument"), Some(1.0), "{text}");
    assert_eq!(handled("NthPrimes", "OK"), Some(1.0), "{text}");
    let latency = r#"grpc_server_handling_seconds_count{grpc_service="calc.Calc",grpc_method="Add"}"#;
    assert_eq!(sample(&text, latency), Some(3.0), "{text}");
    assert!(text.contains("# TYPE grpc_server_handling_seconds histogram"), "{text}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ports_drain_and_stop_on_the_signal() {
    let (_db, server) = started(&["--grpc-port", "0"]).await;
    let grpc = server.grpc.clone().unwrap();
    let (mut shared, mut own) = (calc(&server.base).await, calc(&grpc).await);
    assert_eq!(add(&mut shared, 1, 1).await.unwrap(), 2);
    assert_eq!(add(&mut own, 1, 1).await.unwrap(), 2);
    // Open HTTP/2 connections on both ports do not hold the stop back past the grace period.
    let started = std::time::Instant::now();
    server.stop().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(add(&mut own, 1, 1).await.is_err(), "the gRPC port still answers after the stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_the_billionth_prime() {
    let (_db, server) = started(&[]).await;
    let mut client = calc(&server.base).await;
    assert_eq!(nth_primes(&mut client, vec![1_000_000_000]).await.unwrap(), [22_801_763_489]);
    server.stop().await.unwrap();
}

/// Values far enough apart to share no work, whose nth primes take seconds to compute: a
/// call that is still running when the stop signal arrives.
fn slow_call() -> Vec<u64> {
    (0..SLOW_VALUES).map(|k| 1_000_000_000_000 - k * 20_000_000_000).collect()
}
const SLOW_VALUES: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_while_calls_drain() {
    let (_db, server) = started(&["--grpc-port", "0", "--timeout", "60s"]).await;
    let ports = [server.base.clone(), server.grpc.clone().unwrap()];
    let mut watches = Vec::new();
    for url in &ports {
        let mut health = HealthClient::new(channel(url).await);
        for service in ["", "calc.Calc"] {
            let request = HealthCheckRequest { service: service.into() };
            let mut watch = health.watch(request).await.unwrap().into_inner();
            let first = watch.message().await.unwrap().unwrap().status;
            assert_eq!(first, ServingStatus::Serving as i32, "{url} {service:?}");
            watches.push((format!("{url} {service:?}"), watch));
        }
    }
    let in_flight = || async {
        let text = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        sample(&text, "http_requests_in_flight").unwrap()
    };
    let before = in_flight().await;
    let mut client = calc(&server.base).await;
    let call = tokio::spawn(async move { nth_primes(&mut client, slow_call()).await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while in_flight().await <= before {
        assert!(tokio::time::Instant::now() < deadline, "the call never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let started = std::time::Instant::now();
    let stopped = tokio::spawn(server.stop());
    for (name, watch) in &mut watches {
        let status = watch.message().await.unwrap().expect("a status after the stop").status;
        assert_eq!(status, ServingStatus::NotServing as i32, "{name}");
    }
    assert!(!call.is_finished(), "NOT_SERVING came only after the in-flight call had ended");
    for (name, watch) in &mut watches {
        assert!(watch.message().await.unwrap().is_none(), "{name}: the watch outlives the stop");
    }
    // The call drains to its answer, and the watches do not hold the stop to the grace period.
    let answers = call.await.unwrap().expect("the in-flight call is answered");
    assert_eq!(answers.len(), slow_call().len());
    assert_eq!(answers[0], 29_996_224_275_833, "the 10^12th prime");
    stopped.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(25), "took {:?}", started.elapsed());
}
