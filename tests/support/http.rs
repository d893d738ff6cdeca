//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: fixed routes by path prefix, each with a canned
//! reply (a body, a status, a redirect, a reply that never comes, an endless body). Records every
//! request path it sees. Runs on plain threads so both the CLI and async library tests can use it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with this content type and body.
    Body(&'static str, String),
    /// Any status with a short text body.
    Status(u16),
    /// 302 to this location.
    Redirect(String),
    /// Reads the request and never answers (until the server is dropped).
    Hang,
    /// 200 with a body of this many bytes, sent without Content-Length, in chunks.
    Endless(&'static str, usize),
}

pub struct HttpServer {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
    agents: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    /// Starts serving `routes` (first matching path prefix wins; no match is 404).
    pub fn start(routes: Vec<(String, Reply)>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let agents = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let routes = Arc::new(routes);
        {
            let (hits, agents, stop) = (hits.clone(), agents.clone(), stop.clone());
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (routes, hits, agents, stop) =
                        (routes.clone(), hits.clone(), agents.clone(), stop.clone());
                    thread::spawn(move || handle(conn, &routes, &hits, &agents, &stop));
                }
            });
        }
        HttpServer {
            addr,
            hits,
            agents,
            stop,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Every request path received so far, in order.
    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }

    /// The User-Agent header of every request so far.
    pub fn user_agents(&self) -> Vec<String> {
        self.agents.lock().unwrap().clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so its thread ends.
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(
    mut conn: TcpStream,
    routes: &[(String, Reply)],
    hits: &Mutex<Vec<String>>,
    agents: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65536 {
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    if stop.load(Ordering::SeqCst) {
        return;
    }
    hits.lock().unwrap().push(path.clone());
    if let Some(ua) = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("user-agent")
            .then(|| v.trim().to_string())
    }) {
        agents.lock().unwrap().push(ua);
    }
    let reply = routes
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix.as_str()))
        .map(|(_, r)| r.clone())
        .unwrap_or(Reply::Status(404));
    let send = |conn: &mut TcpStream, status: &str, headers: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(body);
    };
    match reply {
        Reply::Body(ctype, body) => send(
            &mut conn,
            "200 OK",
            &format!("Content-Type: {ctype}\r\n"),
            body.as_bytes(),
        ),
        Reply::Status(code) => send(
            &mut conn,
            &format!("{code} Status"),
            "Content-Type: text/plain\r\n",
            b"status",
        ),
        Reply::Redirect(to) => send(&mut conn, "302 Found", &format!("Location: {to}\r\n"), b""),
        Reply::Hang => {
            while !stop.load(Ordering::SeqCst) {
                thread::sleep(Duration::from_millis(50));
            }
        }
        Reply::Endless(ctype, total) => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nConnection: close\r\n\r\n");
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            let block = vec![b'a'; 16 * 1024];
            let mut sent = 0;
            while sent < total && !stop.load(Ordering::SeqCst) {
                if conn.write_all(&block).is_err() {
                    return;
                }
                sent += block.len();
            }
        }
    }
}
