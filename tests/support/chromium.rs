//! Debian's headless Chromium as a real mail reader's browser engine: it renders a page and loads
//! its images (a tracking pixel) the way a recipient's client does.

use std::path::Path;
use std::process::{Command, Stdio};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Loads `url` in headless Chromium with the profile in `profile` and returns the rendered DOM
/// (`--dump-dom` returns once the page and its subresources have loaded).
pub fn dump_dom(profile: &Path, url: &str) -> String {
    assert!(
        Path::new(CHROMIUM).exists(),
        "this test needs Debian's chromium: `sudo apt-get install chromium` (or tests/run.sh)"
    );
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
