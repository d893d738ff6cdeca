//! `tidings demo`: a seeded inbox printed from a throw-away dir, no account, no trace left behind.

use std::path::Path;
use std::process::Command;

fn demo(home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .arg("demo")
        .args(args)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("HOME", home)
        .env("TMPDIR", home.join("tmp"))
        .env_remove("TIDINGS_CONFIG")
        .env_remove("TIDINGS_DATA_DIR")
        .output()
        .expect("running tidings demo")
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn demo_prints_a_seeded_inbox_and_leaves_no_trace() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join("tmp")).unwrap();
    let out = demo(home.path(), &[]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Demo mailbox of Alex Morgan <alex@initech.test>: "),
        "{stdout}"
    );
    for expected in [
        "Dana Lee <dana.lee@acme.",
        "Hank Scorpio <hank@globe",
        "Q3 proposal for Acme",
        "This Week in Terminals #120",
        "[initech/tps] Build #4812",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing:\n{stdout}");
    }
    let rows = stdout
        .lines()
        .filter(|l| l.contains("T") && l.trim_start().starts_with(char::is_numeric))
        .count();
    assert!(rows > 30, "{rows} inbox rows:\n{stdout}");
    // The hostile demo mail is listed, defused.
    assert!(!stdout.bytes().any(|b| b == 0x1b || b == 0x07));
    // Nothing in the user's data or config dirs, and the temporary dir is gone.
    assert!(
        !home.path().join("data").exists(),
        "demo wrote to XDG_DATA_HOME"
    );
    assert!(
        !home.path().join("config").exists(),
        "demo wrote to XDG_CONFIG_HOME"
    );
    assert_eq!(entries(&home.path().join("tmp")), Vec::<String>::new());
}

#[test]
fn demo_dir_is_kept_reusable_and_never_a_real_cache() {
    let home = tempfile::tempdir().unwrap();
    let kept = home.path().join("kept");
    let dir = kept.to_str().unwrap();
    assert!(demo(home.path(), &["--dir", dir]).status.success());
    // Seeding the same demo dir again replaces the mail instead of duplicating it.
    assert!(demo(home.path(), &["--dir", dir]).status.success());
    let list = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--data-dir", dir, "list", "--folder", "Archive", "--json"])
        .env("TIDINGS_CONFIG", home.path().join("none.toml"))
        .output()
        .unwrap();
    let archive: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let ids: Vec<i64> = archive
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(ids.len() > 50, "{} archived", ids.len());
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());

    let real = home.path().join("real-cache");
    std::fs::create_dir_all(&real).unwrap();
    std::fs::write(real.join("tidings.sqlite3"), b"not a demo").unwrap();
    let out = demo(home.path(), &["--dir", real.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty and not a demo dir"));
    assert_eq!(
        std::fs::read(real.join("tidings.sqlite3")).unwrap(),
        b"not a demo"
    );
}
