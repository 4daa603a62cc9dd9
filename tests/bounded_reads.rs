//! Every input is read through one bounded reader: a spec or an audited file
//! that never ends (`/dev/zero`, a FIFO or pipe fed more than the limit) is
//! refused after the limit, with an error naming the file and the limit,
//! instead of growing without bound.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: usize = 4 * 1024 * 1024;

/// Runs mqttforge, killing it if it has not finished within 60 s (an
/// unbounded read of /dev/zero never ends).
fn run_bounded(args: &[&str]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(args)
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mqttforge binary runs");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().expect("kill");
            panic!("mqttforge {args:?} still reading after 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn assert_refused(out: &std::process::Output, name: &str) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("`{name}` holds more than {LIMIT} bytes")),
        "no error naming the file and the limit:\n{text}"
    );
}

#[test]
fn validate_refuses_dev_zero() {
    let out = run_bounded(&["validate", "/dev/zero"]);
    assert_refused(&out, "/dev/zero");
}

#[test]
fn audit_refuses_dev_zero() {
    let out = run_bounded(&["audit", "--kind", "mosquitto-conf", "/dev/zero"]);
    assert_refused(&out, "/dev/zero");
}

/// A FIFO whose writer sends `bytes` bytes of a valid-looking line, then
/// closes; the writer stops quietly when the reader goes away.
fn fifo_fed_with(
    dir: &Path,
    bytes: usize,
    line: &'static [u8],
) -> (PathBuf, std::thread::JoinHandle<usize>) {
    let path = dir.join("spec.fifo");
    let status = Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&writer_path)
            .expect("open the FIFO for writing");
        let mut sent = 0;
        while sent < bytes {
            match f.write(line) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    });
    (path, writer)
}

#[test]
fn validate_refuses_a_fifo_fed_more_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, writer) = fifo_fed_with(dir.path(), 3 * LIMIT, b"# a comment line of a spec\n");
    let name = fifo.display().to_string();
    let out = run_bounded(&["validate", &name]);
    assert_refused(&out, &name);
    let sent = writer.join().unwrap();
    assert!(
        sent < 3 * LIMIT,
        "the reader read everything ({sent} bytes)"
    );
}

#[test]
fn audit_refuses_a_fifo_fed_more_than_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, writer) = fifo_fed_with(
        dir.path(),
        3 * LIMIT,
        b"# a comment line of mosquitto.conf\n",
    );
    let name = fifo.display().to_string();
    let out = run_bounded(&["audit", "--kind", "mosquitto-conf", &name]);
    assert_refused(&out, &name);
    assert!(writer.join().unwrap() < 3 * LIMIT);
}

#[test]
fn a_fifo_under_the_limit_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (fifo, writer) = fifo_fed_with(dir.path(), 1000, b"# comment\n");
    let name = fifo.display().to_string();
    let out = run_bounded(&["audit", "--kind", "mosquitto-conf", &name]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("bytes"), "{text}");
    assert!(text.contains("1 file: 0 errors"), "{text}");
    writer.join().unwrap();
}

#[test]
fn a_pipe_on_stdin_is_bounded_too() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["validate", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'#'; 64 * 1024];
        let mut sent = 0;
        while sent < 3 * LIMIT {
            match stdin.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert_refused(&out, "/dev/stdin");
}

#[test]
fn a_large_regular_file_is_refused_by_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.yaml");
    std::fs::write(&path, vec![b'#'; LIMIT + 1]).unwrap();
    let name = path.display().to_string();
    let out = run_bounded(&["validate", &name]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text.contains(&format!(
            "`{name}` is {} bytes; a site spec may be at most {LIMIT} bytes",
            LIMIT + 1
        )),
        "{text}"
    );
}
