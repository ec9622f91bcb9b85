//! The gRPC face of calc: the `calc.Calc` service, `grpc.health.v1.Health` and server
//! reflection, as one axum router (STYLE R8). Each method only decodes, calls and encodes;
//! the arithmetic, the limits and the workers know nothing of gRPC.

use std::{future::Future, time::Duration};

use axum::Router;
use tonic::{Request, Response, Status, service::Routes};

use crate::{
    arith,
    config::CalcConfig,
    deadline,
    health::health_service,
    proto::{
        AddRequest, AddResponse, MaxRequest, MaxResponse, NthPrimesRequest, NthPrimesResponse, calc_server,
        calc_server::CalcServer,
    },
    workers::PrimeWorkers,
};

/// The gRPC services this router serves, by their full names: they are routed by path
/// (`/<service>/<method>`) and described by server reflection, not by the OpenAPI document.
pub const SERVICE_NAMES: [&str; 4] = [
    calc_server::SERVICE_NAME,
    tonic_health::pb::health_server::SERVICE_NAME,
    tonic_reflection::pb::v1::server_reflection_server::SERVICE_NAME,
    tonic_reflection::pb::v1alpha::server_reflection_server::SERVICE_NAME,
];

/// `calc.Calc`, health and reflection (v1 and v1alpha, so older `grpcurl` builds work too),
/// ready to merge into the HTTP router or to serve on a port of their own. `request_timeout`
/// is the server's whole-request deadline (`FERRUM_HTTP_REQUEST_TIMEOUT`); health turns
/// NOT_SERVING when `stopping` resolves (the stop signal). Call it within a Tokio runtime.
pub fn grpc_routes(
    config: &CalcConfig,
    request_timeout: Duration,
    stopping: impl Future<Output = ()> + Send + 'static,
) -> Router {
    routes(CalcService::new(config, request_timeout, PrimeWorkers::per_core()), stopping)
}

/// [`grpc_routes`] around a given service (tests hold its workers back).
pub fn routes(calc: CalcService, stopping: impl Future<Output = ()> + Send + 'static) -> Router {
    let mut routes = Routes::new(CalcServer::new(calc)).add_service(health_service(stopping));
    match (reflection().build_v1(), reflection().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => routes = routes.add_service(v1).add_service(v1alpha),
        // Only a corrupt embedded descriptor can fail here; calc still serves without it.
        (Err(error), _) | (_, Err(error)) => tracing::error!(%error, "gRPC reflection is off"),
    }
    routes.into_axum_router()
}

/// Reflection over calc.proto and the health service, so `grpcurl` needs no proto file.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// The `calc.Calc` service.
#[derive(Clone, Debug)]
pub struct CalcService {
    max_n: u64,
    request_timeout: Duration,
    workers: PrimeWorkers,
}

impl CalcService {
    /// A service with the configured limits, computing on `workers`.
    pub fn new(config: &CalcConfig, request_timeout: Duration, workers: PrimeWorkers) -> Self {
        Self { max_n: config.max_n, request_timeout, workers }
    }
}

#[tonic::async_trait]
impl calc_server::Calc for CalcService {
    // Max and Add answer within microseconds on the calling thread, before any deadline could
    // pass, so only NthPrimes watches the clock.
    async fn max(&self, request: Request<MaxRequest>) -> Result<Response<MaxResponse>, Status> {
        let MaxRequest { a, b } = request.into_inner();
        Ok(Response::new(MaxResponse { max: arith::max(a, b) }))
    }

    async fn add(&self, request: Request<AddRequest>) -> Result<Response<AddResponse>, Status> {
        let AddRequest { a, b } = request.into_inner();
        Ok(Response::new(AddResponse { sum: arith::add(a, b)? }))
    }

    #[tracing::instrument(skip_all, fields(values = request.get_ref().n.len()))]
    async fn nth_primes(&self, request: Request<NthPrimesRequest>) -> Result<Response<NthPrimesResponse>, Status> {
        let time_allowed = deadline::time_allowed(request.metadata(), self.request_timeout);
        let ns = request.into_inner().n;
        let nth_primes = self.workers.nth_primes(ns, self.max_n, time_allowed).await?;
        Ok(Response::new(NthPrimesResponse { nth_primes }))
    }
}

#[cfg(test)]
mod tests {
    //! The deadline paths, made deterministic: with no worker free, a call can only wait, so
    //! whichever deadline applies is the one that ends it. The client is tonic's generated one
    //! over a plain HTTP/2 connection, which (unlike tonic's channel) leaves `grpc-timeout` to
    //! the server, so the answer seen is the server's.

    use hyper_util::{client::legacy::Client, rt::TokioExecutor};
    use tokio::time::Instant;
    use tonic::Code;

    use super::*;
    use crate::proto::calc_client::CalcClient;

    type PlainHttp2 = Client<hyper_util::client::legacy::connect::HttpConnector, tonic::body::Body>;

    /// Serves calc with no worker free and `request_timeout`; a client for it.
    async fn stalled_server(request_timeout: Duration) -> CalcClient<PlainHttp2> {
        let service = CalcService::new(&CalcConfig::default(), request_timeout, PrimeWorkers::with_permits(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap()).parse().unwrap();
        tokio::spawn(async move { axum::serve(listener, routes(service, std::future::pending())).await });
        let http2 = Client::builder(TokioExecutor::new()).http2_only(true).build_http();
        CalcClient::with_origin(http2, origin)
    }

    async fn nth_primes_status(client: &mut CalcClient<PlainHttp2>, client_timeout: Option<Duration>) -> Status {
        let mut request = Request::new(NthPrimesRequest { n: vec![10] });
        if let Some(timeout) = client_timeout {
            request.set_timeout(timeout);
        }
        client.nth_primes(request).await.unwrap_err()
    }

    #[tokio::test]
    async fn the_client_deadline_ends_a_call_with_deadline_exceeded() {
        let mut client = stalled_server(Duration::from_secs(30)).await;
        let started = Instant::now();
        let status = nth_primes_status(&mut client, Some(Duration::from_millis(150))).await;
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(status.message().contains("150ms"), "{status:?}");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(150) && took < Duration::from_secs(10), "{took:?}");
    }

    #[tokio::test]
    async fn the_server_request_timeout_ends_a_call_with_deadline_exceeded() {
        let mut client = stalled_server(Duration::from_millis(150)).await;
        let status = nth_primes_status(&mut client, None).await;
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(status.message().contains("150ms"), "{status:?}");
        // A longer client deadline does not stretch the server's.
        let status = nth_primes_status(&mut client, Some(Duration::from_secs(60))).await;
        assert!(status.message().contains("150ms"), "{status:?}");
    }

    #[tokio::test]
    async fn add_and_max_never_wait_for_a_worker() {
        let mut client = stalled_server(Duration::from_millis(150)).await;
        assert_eq!(client.add(AddRequest { a: 2, b: 5 }).await.unwrap().into_inner().sum, 7);
        assert_eq!(client.max(MaxRequest { a: 2, b: 5 }).await.unwrap().into_inner().max, 5);
        let empty = client.nth_primes(NthPrimesRequest { n: vec![] }).await.unwrap().into_inner();
        assert!(empty.nth_primes.is_empty());
    }
}
