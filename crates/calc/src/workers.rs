//! Runs NthPrimes calls: checks the values, then computes them on a blocking thread, at most
//! one computation per core at a time, within the call's deadline.
//!
//! A nth prime can take a while, so it never runs on the async threads that serve every other
//! request (STYLE R7). The bound keeps a burst of heavy calls from starting more threads than
//! there are cores to run them: the extra calls wait for a permit, and that wait counts
//! against their deadline too. A batch whose caller gave up stops before its next value.

use std::{
    num::NonZeroUsize,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use ferrum_platform::telemetry::RequestScope;
use tokio::sync::Semaphore;

use crate::{error::CalcError, limits, primes};

/// The bounded pool NthPrimes computations run on; cheap to clone.
#[derive(Clone, Debug)]
pub struct PrimeWorkers {
    permits: Arc<Semaphore>,
}

impl PrimeWorkers {
    /// As many computations at once as the machine has cores (at least one), shared by the
    /// whole process: the HTTP port and the gRPC port (each with its own router) draw on the
    /// same cores, so they draw on the same permits.
    pub fn per_core() -> Self {
        static SHARED: OnceLock<PrimeWorkers> = OnceLock::new();
        SHARED
            .get_or_init(|| Self::with_permits(std::thread::available_parallelism().map_or(1, NonZeroUsize::get)))
            .clone()
    }

    /// At most `permits` computations at once (tests use zero to hold every call back).
    pub fn with_permits(permits: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits)) }
    }

    /// The nth prime of each of `ns`, in order, once every value has been checked against
    /// `max_n`; [`CalcError::DeadlineExceeded`] when `time_allowed` runs out first.
    pub async fn nth_primes(&self, ns: Vec<u64>, max_n: u64, time_allowed: Duration) -> Result<Vec<u64>, CalcError> {
        limits::check_ns(&ns, max_n)?;
        if ns.is_empty() {
            return Ok(Vec::new());
        }
        match tokio::time::timeout(time_allowed, self.compute(ns)).await {
            Ok(result) => result,
            Err(_) => Err(CalcError::DeadlineExceeded(time_allowed)),
        }
    }

    async fn compute(&self, ns: Vec<u64>) -> Result<Vec<u64>, CalcError> {
        // The semaphore is never closed, so this only waits.
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| CalcError::ComputationFailed)?;
        // Lines logged by the computation keep the call's span and its request id.
        let span = tracing::Span::current();
        let request = RequestScope::current();
        // Set when this future is dropped (the deadline passed or the client went away), so an
        // abandoned batch stops within one value instead of holding its core and its permit to
        // the end, and a shutdown does not wait for it.
        let abandoned = Arc::new(AtomicBool::new(false));
        let _abandon_on_drop = SetOnDrop(abandoned.clone());
        let work = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            request.run(|| span.in_scope(|| primes::nth_primes_until(&ns, || abandoned.load(Ordering::Relaxed))))
        });
        match work.await {
            Ok(Some(primes)) => Ok(primes),
            // Only reached when the caller is already gone; it is never sent.
            Ok(None) => Err(CalcError::ComputationFailed),
            // Only a panic inside the computation makes the task fail.
            Err(_) => Err(CalcError::ComputationFailed),
        }
    }
}

/// Sets its flag when dropped.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLENTY: Duration = Duration::from_secs(30);

    #[tokio::test]
    async fn answers_in_input_order_with_duplicates() {
        let workers = PrimeWorkers::with_permits(1);
        let primes = workers.nth_primes(vec![12, 1, 12, 10_001, 2], 1_000_000, PLENTY).await.unwrap();
        assert_eq!(primes, [37, 2, 37, 104_743, 3]);
    }

    #[tokio::test]
    async fn empty_in_empty_out_even_with_no_worker_free() {
        let workers = PrimeWorkers::with_permits(0);
        assert!(workers.nth_primes(Vec::new(), 10, Duration::ZERO).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn checks_every_value_before_computing() {
        let workers = PrimeWorkers::with_permits(0);
        let error = workers.nth_primes(vec![5, 11], 10, PLENTY).await.unwrap_err();
        assert!(matches!(error, CalcError::InvalidN { n: 11, max_n: 10 }), "{error:?}");
    }

    #[tokio::test]
    async fn a_call_waiting_for_a_worker_past_its_deadline_is_told_so() {
        let workers = PrimeWorkers::with_permits(0);
        let allowed = Duration::from_millis(20);
        let error = workers.nth_primes(vec![5], 10, allowed).await.unwrap_err();
        assert!(matches!(error, CalcError::DeadlineExceeded(d) if d == allowed), "{error:?}");
    }

    #[tokio::test]
    async fn a_finished_call_gives_its_permit_back() {
        let workers = PrimeWorkers::with_permits(1);
        for _ in 0..3 {
            assert_eq!(workers.nth_primes(vec![6], 10, PLENTY).await.unwrap(), [13]);
        }
        assert_eq!(workers.permits.available_permits(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_batch_stops_and_frees_its_worker() {
        let workers = PrimeWorkers::with_permits(1);
        // About 0.3 s a value: some 12 s of work if it ran to the end.
        let heavy: Vec<u64> = (0..40).map(|i| 1_000_000_000_000 - i * 1_000_000_000).collect();
        let error = workers.nth_primes(heavy, 1_000_000_000_000, Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(error, CalcError::DeadlineExceeded(_)), "{error:?}");
        let started = std::time::Instant::now();
        assert_eq!(workers.nth_primes(vec![6], 10, PLENTY).await.unwrap(), [13]);
        assert!(started.elapsed() < Duration::from_secs(4), "the worker was held for {:?}", started.elapsed());
    }

    #[test]
    fn every_router_of_the_process_shares_one_pool() {
        let (http_port, grpc_port) = (PrimeWorkers::per_core(), PrimeWorkers::per_core());
        assert!(Arc::ptr_eq(&http_port.permits, &grpc_port.permits));
    }
}
