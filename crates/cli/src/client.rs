//! The connection to a calc server, through the client generated in `ferrum-calc`, and the
//! one line each command prints.

use std::time::Duration;

use ferrum_calc::proto::{AddRequest, MaxRequest, NthPrimesRequest, calc_client::CalcClient};
use tonic::{
    Code, Status,
    transport::{Channel, Endpoint, Uri},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::command::Command;

/// The server used when neither the command line nor `FERRUM_CALC_ADDRESS` names one.
pub(crate) const DEFAULT_ADDRESS: &str = "localhost:8080";

/// A connected calc client.
#[derive(Debug)]
pub(crate) struct Calc {
    client: CalcClient<Channel>,
}

impl Calc {
    /// Connects to `address` (`host:port` or `http://host:port`) now, so a wrong address is
    /// reported before the first command. `Err` is one line saying why.
    ///
    /// Connected means answered: the connection is opened and one gRPC health check answered,
    /// all within `timeout`. An open TCP connection alone says nothing: a peer that
    /// accepts and never speaks HTTP/2 would leave the first command waiting forever. Any
    /// answer will do (a server without the health service says `UNIMPLEMENTED`).
    pub(crate) async fn connect(address: &str, timeout: Duration) -> Result<Self, String> {
        let uri = server_uri(address)?;
        let endpoint = Endpoint::from(uri.clone()).connect_timeout(timeout);
        let connected = async {
            let channel = endpoint.connect().await.map_err(|error| cause(&error))?;
            let check = HealthClient::new(channel.clone()).check(HealthCheckRequest { service: String::new() }).await;
            match check {
                Err(status) if status.code() == Code::Unavailable => Err(status_line(&status)),
                Ok(_) | Err(_) => Ok(channel),
            }
        };
        let channel = tokio::time::timeout(timeout, connected)
            .await
            .map_err(|_| format!("cannot connect to {uri}: no answer within {timeout:?}"))?
            .map_err(|why| format!("cannot connect to {uri}: {why}"))?;
        Ok(Self { client: CalcClient::new(channel) })
    }

    /// Sends `command` and returns the line to print: the result, or the server's message.
    /// `help` and `exit` are the session's business, not the server's.
    pub(crate) async fn run(&mut self, command: Command) -> Result<String, String> {
        let answer = match command {
            Command::Add(a, b) => self.client.add(AddRequest { a, b }).await.map(|r| r.into_inner().sum.to_string()),
            Command::Max(a, b) => self.client.max(MaxRequest { a, b }).await.map(|r| r.into_inner().max.to_string()),
            Command::NthPrimes(n) => self
                .client
                .nth_primes(NthPrimesRequest { n })
                .await
                .map(|r| r.into_inner().nth_primes.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")),
            Command::Help | Command::Exit => return Ok(String::new()),
        };
        answer.map_err(|status| status_line(&status))
    }
}

/// The server's URI for an address given as `host:port` or `http://host:port`.
fn server_uri(address: &str) -> Result<Uri, String> {
    let address = address.trim();
    let with_scheme = if address.contains("://") { address.to_owned() } else { format!("http://{address}") };
    let uri: Uri = with_scheme.parse().map_err(|_| format!("`{address}` is not an address like localhost:8080"))?;
    match uri.scheme_str() {
        Some("http") if uri.host().is_some_and(|host| !host.is_empty()) => Ok(uri),
        Some("http") => Err(format!("`{address}` has no host: use an address like localhost:8080")),
        _ => Err(format!("`{address}`: only plaintext http:// servers are supported")),
    }
}

/// The innermost cause of a transport error: "Connection refused", not "transport error".
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// A status as one line: its message, else what its code means.
fn status_line(status: &Status) -> String {
    let message = status.message().split_whitespace().collect::<Vec<_>>().join(" ");
    if message.is_empty() { status.code().description().to_owned() } else { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_host_port_or_an_http_url() {
        assert_eq!(server_uri("localhost:8080").unwrap().to_string(), "http://localhost:8080/");
        assert_eq!(server_uri("http://127.0.0.1:9090").unwrap().to_string(), "http://127.0.0.1:9090/");
        assert_eq!(server_uri(" [::1]:50051 ").unwrap().port_u16(), Some(50051));
        assert!(server_uri("https://calc.example:443").unwrap_err().contains("plaintext"));
        assert!(server_uri("not an address").unwrap_err().contains("`not an address`"));
        assert!(server_uri("http://").is_err());
    }

    #[test]
    fn statuses_print_as_one_line() {
        assert_eq!(status_line(&Status::out_of_range("1 + 2\noverflows")), "1 + 2 overflows");
        assert_eq!(status_line(&Status::unavailable("")), "The service is currently unavailable");
    }
}
