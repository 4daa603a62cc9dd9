use std::process::ExitCode;

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    mqttforge::cli::run()
}

/// Printing to a closed pipe (`mqttforge audit ... | head`) makes
/// `println!` panic. A command-line filter ends quietly then, as `cat` and
/// `grep` do: exit 141 (128 + SIGPIPE, what a shell reports for them), no
/// message. SIGPIPE itself stays ignored: the process writes to child
/// processes and sockets, where a closed reader is an error to handle, not
/// a reason to die.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
