//! A small HTTP/1.1 file server on 127.0.0.1 for the download tests: Range requests, and
//! faults chosen per URL with query parameters:
//! - `drop_at=N`: the first response closes the connection after byte N of the file;
//! - `truncate_at=N`: same, but announced as a normal full response (a short body);
//! - `truncate_every=N`: every response stops after byte N of the file (a broken proxy);
//! - `ignore_range`: answers 200 with the whole file even to a Range request;
//! - `corrupt`: one byte in the middle is wrong;
//! - `rate=B`: the first response sends at most B bytes per second;
//! - `fail=K`: the first K requests get 503;
//! - path `/redirect/<name>`: 302 to `/<name>` (query kept), on host `to=HOST:PORT` if given
//!   (absolute `http://HOST:PORT/<name>`); `/missing`: 404.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub range_start: Option<u64>,
    pub status: u16,
}

pub struct TestServer {
    pub addr: SocketAddr,
    files: Arc<HashMap<String, Arc<Vec<u8>>>>,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl TestServer {
    pub fn start(files: Vec<(&str, Arc<Vec<u8>>)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let files: Arc<HashMap<String, Arc<Vec<u8>>>> = Arc::new(files.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, l, s) = (files.clone(), log.clone(), stop.clone());
        std::thread::spawn(move || {
            // Bounded: the server lives as long as its test and stops by itself after 10 minutes.
            let deadline = Instant::now() + Duration::from_secs(600);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (f, l) = (f.clone(), l.clone());
                        std::thread::spawn(move || {
                            let _ = serve(stream, &f, &l);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self { addr, files, log, stop }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.addr, path_and_query)
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.log.lock().map(|l| l.iter().filter(|r| r.path == path).cloned().collect()).unwrap_or_default()
    }

    pub fn file(&self, name: &str) -> Arc<Vec<u8>> {
        self.files[name].clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream, files: &HashMap<String, Arc<Vec<u8>>>, log: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range_start = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range_start = v.trim().trim_end_matches('-').parse::<u64>().ok();
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let params: HashMap<&str, &str> = query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect();
    let n_before = log.lock().map(|l| l.iter().filter(|r| r.path == path).count()).unwrap_or(0);
    let first = n_before == 0;
    let mut out = stream;
    let record = |status: u16| {
        if let Ok(mut l) = log.lock() {
            l.push(Request { path: path.to_string(), range_start, status });
        }
    };

    if let Some(name) = path.strip_prefix("/redirect/") {
        record(302);
        let q = if query.is_empty() { String::new() } else { format!("?{query}") };
        let host = params.get("to").map(|h| format!("http://{h}")).unwrap_or_default();
        return write!(out, "HTTP/1.1 302 Found\r\nLocation: {host}/{name}{q}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let fail: usize = params.get("fail").and_then(|v| v.parse().ok()).unwrap_or(0);
    if n_before < fail {
        record(503);
        return write!(out, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let Some(body) = files.get(path.trim_start_matches('/')) else {
        record(404);
        return write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    };
    let total = body.len() as u64;
    let honour_range = !params.contains_key("ignore_range");
    let start = if honour_range { range_start.unwrap_or(0).min(total) } else { 0 };
    let status = if start > 0 { 206 } else { 200 };
    record(status);
    let mut head = if status == 206 {
        format!("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{total}\r\n", total - 1)
    } else {
        "HTTP/1.1 200 OK\r\n".to_string()
    };
    head.push_str(&format!("Content-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n", total - start));
    out.write_all(head.as_bytes())?;

    let stop_at = if first {
        params.get("drop_at").or_else(|| params.get("truncate_at")).and_then(|v| v.parse::<u64>().ok())
    } else {
        None
    }
    .or_else(|| params.get("truncate_every").and_then(|v| v.parse::<u64>().ok()));
    let rate = if first { params.get("rate").and_then(|v| v.parse::<u64>().ok()) } else { None };
    let corrupt_at = params.contains_key("corrupt").then_some(total / 2);
    let started = Instant::now();
    let mut pos = start;
    while pos < total {
        let mut end = (pos + (256 << 10)).min(total);
        if let Some(r) = rate {
            end = (pos + (r / 20).max(1)).min(total);
            let due = Duration::from_secs_f64((pos - start) as f64 / r as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        if let Some(s) = stop_at {
            if end >= s {
                out.write_all(&body[pos as usize..s.max(pos) as usize])?;
                out.flush()?;
                return Ok(()); // the connection closes mid-body
            }
        }
        let mut chunk = body[pos as usize..end as usize].to_vec();
        if let Some(c) = corrupt_at {
            if (pos..end).contains(&c) {
                chunk[(c - pos) as usize] ^= 0xff;
            }
        }
        out.write_all(&chunk)?;
        pos = end;
    }
    out.flush()
}
