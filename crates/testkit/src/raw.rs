//! A bare HTTP/1.1 client on a `TcpStream`, for what a full client hides: a request written
//! whole before anything is read (as Python's `urllib` does), bytes exactly as sent, and answers
//! read off the wire one after the other on a kept-alive connection.

use std::{io, time::Duration};

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpStream,
};

/// One connection to the server.
#[derive(Debug)]
pub struct RawConnection {
    stream: TcpStream,
    /// Bytes read past the last answer.
    unread: Vec<u8>,
}

/// An answer as read off the wire.
#[derive(Debug)]
pub struct RawAnswer {
    /// The status code.
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// The body (`Content-Length` bytes, or up to the end of the stream without one).
    pub body: Vec<u8>,
}

impl RawConnection {
    /// Connects to `base_url` (`http://host:port`).
    pub async fn connect(base_url: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(base_url.trim_start_matches("http://")).await?;
        Ok(Self { stream, unread: Vec::new() })
    }

    /// Writes `bytes`, all of them, before returning.
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Writes `bytes`, all of them, `piece` bytes at a time with `pause` between pieces: a client
    /// on a slow link, still sending when the server has its answer ready.
    pub async fn send_slowly(&mut self, bytes: &[u8], piece: usize, pause: Duration) -> io::Result<()> {
        for piece in bytes.chunks(piece.max(1)) {
            self.stream.write_all(piece).await?;
            tokio::time::sleep(pause).await;
        }
        Ok(())
    }

    /// Reads the next answer: its head, then its body (`Content-Length` bytes, or to the end of
    /// the stream). An interim `100 Continue` is skipped.
    pub async fn answer(&mut self) -> io::Result<RawAnswer> {
        loop {
            let end = self.fill_until(|unread| find(unread, b"\r\n\r\n").map(|at| at + 4)).await?;
            let head = String::from_utf8_lossy(&self.unread[..end]).into_owned();
            self.unread.drain(..end);
            let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
            if status == 100 {
                continue;
            }
            let body = match header(&head, "content-length").and_then(|length| length.parse::<usize>().ok()) {
                Some(length) => {
                    self.fill_until(|unread| (unread.len() >= length).then_some(length)).await?;
                    self.unread.drain(..length).collect()
                }
                None => {
                    self.stream.read_to_end(&mut self.unread).await?;
                    std::mem::take(&mut self.unread)
                }
            };
            return Ok(RawAnswer { status, head, body });
        }
    }

    /// Reads until `enough` finds what it needs in the unread bytes, and returns what it found.
    async fn fill_until(&mut self, enough: impl Fn(&[u8]) -> Option<usize>) -> io::Result<usize> {
        loop {
            if let Some(found) = enough(&self.unread) {
                return Ok(found);
            }
            let mut chunk = [0; 16 * 1024];
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
            }
            self.unread.extend_from_slice(&chunk[..read]);
        }
    }
}

impl RawAnswer {
    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.head, name)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_default()
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
