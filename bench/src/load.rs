//! The load generator: N closed-loop clients, one keep-alive HTTP/1.1 connection each, on one
//! single-threaded tokio runtime, with a hand-written request writer and response reader so the
//! client costs little CPU next to the server it measures.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// The RFC 4226 key every bench token has (as in the privacyIDEA anchor's bench.sh).
pub const KEY: &[u8] = b"12345678901234567890";

/// Which OTPs the clients send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `000000`: the PIN is right, the OTP wrong, so the whole check runs and fails.
    Wrong,
    /// The correct HOTP for the client's next counter.
    Ok,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Wrong => "wrong",
            Mode::Ok => "ok",
        }
    }
}

/// One client: the user whose token it owns, that token's PIN, and the next unused HOTP counter.
#[derive(Clone, Debug)]
pub struct Client {
    pub user: String,
    pub realm: String,
    pub pin: String,
    pub next_counter: u64,
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Outcome {
    pub elapsed: Duration,
    pub accepted: u64,
    pub rejected: u64,
    /// Non-200 answers.
    pub other: u64,
    /// Connection errors (the client reconnects).
    pub errors: u64,
    /// Per-request latency in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl Outcome {
    pub fn requests(&self) -> u64 {
        self.accepted + self.rejected + self.other
    }

    pub fn rps(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    /// Nearest-rank percentile in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let idx = rank.clamp(1, self.latencies_us.len()) - 1;
        f64::from(self.latencies_us[idx]) / 1000.0
    }
}

/// The 6-digit HOTP (RFC 4226) of `key` at `counter`.
pub fn hotp(key: &[u8], counter: u64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(key) else {
        return 0;
    };
    mac.update(&counter.to_be_bytes());
    let d = mac.finalize().into_bytes();
    let o = usize::from(d[19] & 0x0f);
    let bin = u32::from_be_bytes([d[o] & 0x7f, d[o + 1], d[o + 2], d[o + 3]]);
    bin % 1_000_000
}

/// Drives `POST /validate/check` at `addr` from `clients.len()` clients for `duration`.
/// Each client sends its next request when the previous answer arrived (like wrk with -tN -cN).
/// Updates each client's `next_counter`.
pub fn run(
    addr: SocketAddr,
    clients: &mut [Client],
    mode: Mode,
    duration: Duration,
) -> Result<Outcome> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let started = Instant::now();
        let deadline = started + duration;
        let mut set = JoinSet::new();
        for (i, client) in clients.iter().enumerate() {
            set.spawn(drive(i, addr, client.clone(), mode, deadline, u64::MAX));
        }
        let mut total = Outcome::default();
        while let Some(joined) = set.join_next().await {
            let (i, client, outcome) = joined??;
            clients[i] = client;
            total.accepted += outcome.accepted;
            total.rejected += outcome.rejected;
            total.other += outcome.other;
            total.errors += outcome.errors;
            total.latencies_us.extend(outcome.latencies_us);
        }
        total.elapsed = started.elapsed();
        total.latencies_us.sort_unstable();
        Ok(total)
    })
}

/// Sends exactly one request from `client` (the sanity check before the runs).
pub fn run_one(addr: SocketAddr, client: &mut Client, mode: Mode) -> Result<Outcome> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (_, updated, outcome) = rt.block_on(drive(0, addr, client.clone(), mode, deadline, 1))?;
    *client = updated;
    Ok(outcome)
}

async fn drive(
    i: usize,
    addr: SocketAddr,
    mut client: Client,
    mode: Mode,
    deadline: Instant,
    max_requests: u64,
) -> Result<(usize, Client, Outcome)> {
    let mut out = Outcome {
        latencies_us: Vec::with_capacity(1 << 16),
        ..Outcome::default()
    };
    let mut conn = Conn::connect(addr).await?;
    let mut req = Vec::with_capacity(512);
    let fixed_body = format!(
        "user={}&realm={}&pass={}",
        client.user, client.realm, client.pin
    );
    while out.requests() + out.errors < max_requests && Instant::now() < deadline {
        let otp = match mode {
            Mode::Wrong => 0,
            Mode::Ok => hotp(KEY, client.next_counter),
        };
        req.clear();
        let body_len = fixed_body.len() + 6;
        req.extend_from_slice(
            format!(
                "POST /validate/check HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {body_len}\r\n\r\n{fixed_body}{otp:06}"
            )
            .as_bytes(),
        );
        let sent = Instant::now();
        match conn.round_trip(&req).await {
            Ok((status, accepted)) => {
                out.latencies_us
                    .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                match (status, accepted) {
                    (200, true) => out.accepted += 1,
                    (200, false) => out.rejected += 1,
                    _ => out.other += 1,
                }
                if mode == Mode::Ok {
                    client.next_counter += 1;
                }
            }
            Err(_) => {
                // The OTP may or may not have been used: skip it, the server's window covers the gap.
                out.errors += 1;
                if mode == Mode::Ok {
                    client.next_counter += 1;
                }
                conn = Conn::connect(addr).await?;
            }
        }
    }
    Ok((i, client, out))
}

/// One keep-alive connection with a fixed read buffer.
struct Conn {
    stream: TcpStream,
    buf: Box<[u8]>,
    len: usize,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Result<Conn> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            len: 0,
        })
    }

    async fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn fill(&mut self) -> Result<()> {
        if self.len == self.buf.len() {
            bail!("response larger than {} bytes", self.buf.len());
        }
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut self.buf[self.len..]) {
                Ok(0) => bail!("connection closed"),
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends one request and reads one response: (HTTP status, whether the body says ACCEPT).
    async fn round_trip(&mut self, req: &[u8]) -> Result<(u16, bool)> {
        self.write_all(req).await?;
        let head_end = loop {
            if let Some(pos) = find(&self.buf[..self.len], b"\r\n\r\n") {
                break pos + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])?;
        let status: u16 = head.get(9..12).context("short status line")?.parse()?;
        let content_length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .context("response without content-length")?;
        let total = head_end + content_length;
        while self.len < total {
            self.fill().await?;
        }
        let body = &self.buf[head_end..total];
        let accepted = find(body, b"\"authentication\":\"ACCEPT\"").is_some()
            || find(body, b"\"authentication\": \"ACCEPT\"").is_some();
        self.buf.copy_within(total..self.len, 0);
        self.len -= total;
        Ok((status, accepted))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotp_matches_rfc_4226_appendix_d() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(KEY, counter as u64), want);
        }
    }
}
