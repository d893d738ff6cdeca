//! A real DNS server for tests: Debian's dnsmasq on 127.0.0.1, answering only what the test
//! configures (`--mx-host`, `--address`, `--srv-host`), never forwarding anywhere.

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dnsmasq {
    pub addr: SocketAddr,
    child: Child,
}

fn dnsmasq_binary() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = PathBuf::from(dir).join("dnsmasq");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "dnsmasq not found: the Superdata MX tests need it. Install it with \
         `apt-get install dnsmasq-base` (tests/run.sh does this)"
    );
}

impl Dnsmasq {
    /// `mx`: (domain, mail host, preference); `addresses`: (domain, IPv4) A records.
    pub fn start(mx: &[(&str, &str, u16)], addresses: &[(&str, &str)]) -> Dnsmasq {
        Dnsmasq::start_with_srv(mx, addresses, &[])
    }

    /// Also SRV records: (`_service._proto.domain`, Some((target, port))), or None for the
    /// "decidedly not offered here" record (target ".").
    pub fn start_with_srv(
        mx: &[(&str, &str, u16)],
        addresses: &[(&str, &str)],
        srv: &[(&str, Option<(&str, u16)>)],
    ) -> Dnsmasq {
        let bin = dnsmasq_binary();
        let mut last_err = String::new();
        for _attempt in 0..5 {
            // A port free for UDP right now; dnsmasq binds UDP and TCP on it.
            let port = UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut cmd = Command::new(&bin);
            cmd.args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--pid-file=",
                "--log-facility=-",
                "--user=nobody",
            ])
            .arg(format!("--port={port}"));
            for (domain, host, pref) in mx {
                cmd.arg(format!("--mx-host={domain},{host},{pref}"));
            }
            for (domain, ip) in addresses {
                cmd.arg(format!("--address=/{domain}/{ip}"));
            }
            for (name, target) in srv {
                cmd.arg(match target {
                    Some((host, port)) => format!("--srv-host={name},{host},{port},0,1"),
                    None => format!("--srv-host={name}"),
                });
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start dnsmasq");
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        use std::io::Read;
                        let _ = e.read_to_string(&mut err);
                    }
                    last_err = format!("dnsmasq exited with {status}: {err}");
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
                    return Dnsmasq { addr, child };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("dnsmasq did not start on 127.0.0.1: {last_err}");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
