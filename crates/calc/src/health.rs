//! `grpc.health.v1.Health` for calc: SERVING for the server as a whole (`""`) and for
//! `calc.Calc` until the stop signal, NOT_SERVING from then on while in-flight calls drain, so
//! that balancers stop sending calls to a replica that is going away. A `Watch` stream delivers
//! the change and then ends: the server is leaving, and an open stream would otherwise hold
//! the drain until the grace period is over. Any other service name is `NOT_FOUND`.
//!
//! Written here rather than taken from `tonic_health::server`, whose `Watch` streams never end.

use std::{future::Future, pin::Pin};

use futures_util::Stream;
use tokio::sync::watch;
use tonic::{Request, Response, Status};
use tonic_health::pb::{
    HealthCheckRequest, HealthCheckResponse,
    health_check_response::ServingStatus,
    health_server::{Health, HealthServer},
};

use crate::proto::calc_server;

/// The names health answers for: the whole server, and calc.
const SERVICES: [&str; 2] = ["", calc_server::SERVICE_NAME];

/// The health service's state: the status every name shares.
#[derive(Clone, Debug)]
pub struct CalcHealth {
    status: watch::Receiver<ServingStatus>,
}

/// The health service, SERVING until `stopping` resolves and NOT_SERVING after; see
/// [`CalcHealth::new`].
pub fn health_service(stopping: impl Future<Output = ()> + Send + 'static) -> HealthServer<CalcHealth> {
    HealthServer::new(CalcHealth::new(stopping))
}

impl CalcHealth {
    /// SERVING until `stopping` resolves, NOT_SERVING after. It spawns the task that waits for
    /// `stopping`, so it must be called within a Tokio runtime.
    pub fn new(stopping: impl Future<Output = ()> + Send + 'static) -> Self {
        let (report, status) = watch::channel(ServingStatus::Serving);
        tokio::spawn(async move {
            stopping.await;
            // Dropping the sender after this last value ends each Watch stream once it has
            // delivered it; Check keeps reading the last value.
            report.send_replace(ServingStatus::NotServing);
        });
        Self { status }
    }

    fn status_of(&self, service: &str) -> Result<watch::Receiver<ServingStatus>, Status> {
        if SERVICES.contains(&service) {
            Ok(self.status.clone())
        } else {
            Err(Status::not_found(format!("unknown service {service:?}")))
        }
    }
}

fn answer(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse { status: status.into() }
}

#[tonic::async_trait]
impl Health for CalcHealth {
    async fn check(&self, request: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        let status = *self.status_of(&request.get_ref().service)?.borrow();
        Ok(Response::new(answer(status)))
    }

    type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

    async fn watch(&self, request: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let mut status = self.status_of(&request.get_ref().service)?;
        // The current status first, then each change, until the sender is gone.
        status.mark_changed();
        let changes = futures_util::stream::unfold(status, |mut status| async move {
            status.changed().await.ok()?;
            let current = *status.borrow_and_update();
            Some((Ok(answer(current)), status))
        });
        Ok(Response::new(Box::pin(changes)))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt as _;
    use tokio::sync::oneshot;
    use tonic::Code;

    use super::*;

    fn request(service: &str) -> Request<HealthCheckRequest> {
        Request::new(HealthCheckRequest { service: service.into() })
    }

    async fn check(health: &CalcHealth, service: &str) -> Result<i32, Status> {
        health.check(request(service)).await.map(|answer| answer.into_inner().status)
    }

    const SERVING: i32 = ServingStatus::Serving as i32;
    const NOT_SERVING: i32 = ServingStatus::NotServing as i32;

    #[tokio::test]
    async fn turns_not_serving_on_the_stop_signal_and_ends_watches() {
        let (stop, stopped) = oneshot::channel::<()>();
        let health = CalcHealth::new(async {
            let _ = stopped.await;
        });
        let mut watches = Vec::new();
        for service in SERVICES {
            assert_eq!(check(&health, service).await.unwrap(), SERVING, "{service:?}");
            let mut watch = health.watch(request(service)).await.unwrap().into_inner();
            assert_eq!(watch.next().await.unwrap().unwrap().status, SERVING, "{service:?}");
            watches.push(watch);
        }

        stop.send(()).unwrap();
        for (service, watch) in SERVICES.into_iter().zip(&mut watches) {
            assert_eq!(watch.next().await.unwrap().unwrap().status, NOT_SERVING, "{service:?}");
            assert!(watch.next().await.is_none(), "{service:?}: the watch goes on after the stop");
            assert_eq!(check(&health, service).await.unwrap(), NOT_SERVING, "{service:?}");
        }
        // A watch begun after the stop says so once and ends.
        let late: Vec<_> = health.watch(request("")).await.unwrap().into_inner().collect().await;
        assert_eq!(late.into_iter().map(|answer| answer.unwrap().status).collect::<Vec<_>>(), [NOT_SERVING]);
    }

    #[tokio::test]
    async fn unknown_services_are_not_found() {
        let health = CalcHealth::new(std::future::pending());
        assert_eq!(check(&health, "calc.Nope").await.unwrap_err().code(), Code::NotFound);
        assert_eq!(health.watch(request("calc.Nope")).await.err().map(|s| s.code()), Some(Code::NotFound));
    }
}
