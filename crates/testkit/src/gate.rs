//! A TCP gate between the app and PostgreSQL: closed, it refuses connections and cuts the
//! ones it carries; open, it forwards. Tests use it to make the database go away and return.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use parking_lot::Mutex;
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use url::Url;

/// A forwarding gate on `127.0.0.1:<random>`.
#[derive(Debug)]
pub struct Gate {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    cut: Arc<Mutex<CancellationToken>>,
    accept: JoinHandle<()>,
}

impl Gate {
    /// Starts a gate to `upstream`, closed.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind gate");
        let addr = listener.local_addr().expect("gate addr");
        let open = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(Mutex::new(CancellationToken::new()));
        let accept = tokio::spawn({
            let (open, cut) = (open.clone(), cut.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !open.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let cut = cut.lock().clone();
                    tokio::spawn(async move {
                        let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            () = cut.cancelled() => {}
                        }
                    });
                }
            }
        });
        Self { addr, open, cut, accept }
    }

    /// Starts a gate to the host and port of `url` and returns it with `url` pointed at it.
    pub async fn in_front_of(url: &Url) -> (Self, Url) {
        let host = url.host_str().expect("url host");
        let port = url.port().unwrap_or(5432);
        let upstream = tokio::net::lookup_host((host, port)).await.expect("resolve").next().expect("an address");
        let gate = Self::start(upstream).await;
        let mut through = url.clone();
        through.set_host(Some("127.0.0.1")).expect("host");
        through.set_port(Some(gate.addr.port())).expect("port");
        (gate, through)
    }

    /// Lets new connections through.
    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }

    /// Refuses new connections and cuts every open one.
    pub fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        let mut cut = self.cut.lock();
        cut.cancel();
        *cut = CancellationToken::new();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.close();
        self.accept.abort();
    }
}
