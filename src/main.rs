use std::process::ExitCode;

fn main() -> ExitCode {
    restore_sigpipe();
    mqttforge::cli::run()
}

/// Rust ignores SIGPIPE, so printing to a closed pipe (`mqttforge audit
/// ... | head`) would panic in `println!`. A command-line filter is killed
/// by the signal instead, silently, as `cat` and `grep` are.
#[allow(unsafe_code)] // libc::signal: std has no way to restore the default.
fn restore_sigpipe() {
    // SAFETY: called first in main, before any thread exists; SIG_DFL is
    // a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
