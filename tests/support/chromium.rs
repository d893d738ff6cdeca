//! Debian's headless Chromium as a real mail reader's browser engine: it renders a page and loads
//! its images (a tracking pixel) the way a recipient's client does.

use std::path::Path;
use std::process::{Command, Stdio};

const CHROMIUM: &str = "/usr/bin/chromium";

/// The agent of desktop Chrome on Linux, as a reader's browser sends it.
pub const PERSONS_CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

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
        // Stands in for a person's browser: headless Chromium's own agent says "HeadlessChrome",
        // which the tracker rightly takes for a sandbox detonating links, not a reader.
        .arg(format!("--user-agent={PERSONS_CHROME}"))
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
