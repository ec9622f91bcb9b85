//! `ferrum healthcheck`: exit 0 when `/health/ready` answers 200. It is the container
//! HEALTHCHECK, so images need no curl or wget; plain HTTP/1.1 over a socket is all it takes.

use std::{
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, ToSocketAddrs},
    process::ExitCode,
    time::Duration,
};

use url::Url;

use crate::config::HealthcheckArgs;

/// Checks the URL; 0 on 200, 1 otherwise, with one line saying why.
pub fn healthcheck(args: &HealthcheckArgs) -> ExitCode {
    let url = args.url.clone().unwrap_or_else(|| default_url(args.http.listen_addr()));
    match status_of(&url, args.http.request_timeout) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("unhealthy: {url} answered {status}");
            ExitCode::FAILURE
        }
        Err(why) => {
            eprintln!("unhealthy: {url}: {why}");
            ExitCode::FAILURE
        }
    }
}

/// The readiness URL of a server bound as `serve` would bind; a wildcard address means this host.
fn default_url(listen: SocketAddr) -> String {
    let ip = if listen.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { listen.ip() };
    format!("http://{}/health/ready", SocketAddr::new(ip, listen.port()))
}

fn status_of(url: &str, timeout: Duration) -> Result<u16, String> {
    let url = Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if url.scheme() != "http" {
        return Err("only http:// URLs are supported".into());
    }
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = (host, port).to_socket_addrs().map_err(|e| e.to_string())?.next().ok_or("the host has no address")?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    // One write: `write!` on a bare socket sends each piece separately, and a server that
    // answers after the first piece and closes turns the next piece into a broken pipe.
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: ferrum-healthcheck\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut head = [0_u8; 64];
    let read = stream.read(&mut head).map_err(|e| e.to_string())?;
    parse_status(&head[..read]).ok_or_else(|| "not an HTTP answer".into())
}

/// The status code of an HTTP/1.x status line.
fn parse_status(head: &[u8]) -> Option<u16> {
    let line = std::str::from_utf8(head).ok()?.lines().next()?;
    let mut parts = line.split_whitespace();
    parts.next().filter(|version| version.starts_with("HTTP/1."))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 200 OK\r\ncontent-length: 2"), Some(200));
        assert_eq!(parse_status(b"HTTP/1.1 503 Service Unavailable\r\n"), Some(503));
        assert_eq!(parse_status(b"SSH-2.0-OpenSSH"), None);
    }

    #[test]
    fn wildcard_listeners_are_checked_on_localhost() {
        assert_eq!(default_url("0.0.0.0:8080".parse().unwrap()), "http://127.0.0.1:8080/health/ready");
        assert_eq!(default_url("10.1.2.3:9000".parse().unwrap()), "http://10.1.2.3:9000/health/ready");
    }
}
