use std::process::ExitCode;

fn main() -> ExitCode {
    mqttforge::cli::run()
}
