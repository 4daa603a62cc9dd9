//! Command-line interface: clap definitions, one file per subcommand.

mod acl;
mod apply;
#[cfg(feature = "bench")]
mod bench;
#[cfg(not(feature = "bench"))]
#[path = "bench_missing.rs"]
mod bench;
mod broker;
mod checklist;
mod completions;
mod lint;
mod pki;
mod plan;
mod render;
mod runbook;
mod schema;
mod validate;
mod verify;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diag::{self, Code, Diagnostic, Style};

/// Exit codes shared by every command.
pub mod exit {
    /// Success: valid, clean, no changes.
    pub const OK: u8 = 0;
    /// The input has problems (invalid spec, failing findings) or the run failed.
    pub const FAILED: u8 = 1;
    /// Bad command line (clap's own code for usage errors).
    pub const USAGE: u8 = 2;
}

/// A command needs a cargo feature this build left out: say which and how
/// to get it (exit 2: the command line asks for what this binary lacks).
pub fn feature_missing(feature: &str, what: &str) -> u8 {
    report(
        Code::Feature,
        format!("{what} needs the `{feature}` feature, which this build of mqttforge left out"),
        format!(
            "build it in: `cargo install --path . --features {feature}` (or `--all-features`), \
             or run from a clone with `cargo run --features {feature} -- ...`"
        ),
    );
    exit::USAGE
}

/// Prints a problem that has no position in a file (a command line that
/// contradicts itself, a runtime that cannot start, a directory that cannot
/// be written) the way every diagnostic prints: `error[CODE]: message` and
/// a help line, on stderr.
pub fn report(code: Code, message: impl Into<String>, help: impl Into<String>) {
    report_diag(Diagnostic::error(code, message).with_help(help));
}

/// Prints finished diagnostics on stderr.
pub fn report_diag(d: Diagnostic) {
    eprint!("{}", diag::render_text(&[d], stderr_style()));
}

#[derive(Parser, Debug)]
#[command(
    name = "mqttforge",
    version,
    about = "One declarative MQTT site spec in, a whole production MQTT deployment out.",
    long_about = "mqttforge validates a declarative MQTT site spec (YAML) and turns it into \
                  the configuration of a production MQTT site.",
    after_help = "Examples:\n  mqttforge validate site-examples/edge-mosquitto.yaml\n  mqttforge plan site.yaml --out rendered/\n  mqttforge apply site.yaml --out rendered/\n  mqttforge lint site.yaml --deny warnings\n  mqttforge audit /etc/mosquitto/mosquitto.conf /etc/mosquitto/acl /etc/haproxy/haproxy.cfg\n  mqttforge pki status site.yaml --dir rendered/pki\n  mqttforge acl check site.yaml --user sensor-0001 --write devices/sensor-0001/telemetry/t"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Validate(validate::Args),
    Render(render::Args),
    Plan(plan::Args),
    Apply(apply::Args),
    Lint(lint::LintArgs),
    Audit(lint::AuditArgs),
    Explain(lint::ExplainArgs),
    Pki(pki::Args),
    Acl(acl::Args),
    Verify(verify::Args),
    Broker(broker::Args),
    Runbook(runbook::Args),
    Checklist(checklist::Args),
    Bench(Box<bench::Args>),
    Schema(schema::Args),
    Completions(completions::CompletionsArgs),
    Man(completions::ManArgs),
}

/// Output format of reporting commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Colour only on a terminal, and never with NO_COLOR set.
pub fn stdout_style() -> Style {
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    }
}

/// Colour on stderr only on a terminal, and never with NO_COLOR set.
pub fn stderr_style() -> Style {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        Style::Color
    } else {
        Style::Plain
    }
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    let code = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Render(args) => render::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Lint(args) => lint::lint(args),
        Command::Audit(args) => lint::audit(args),
        Command::Explain(args) => lint::explain(args),
        Command::Pki(args) => pki::run(args),
        Command::Acl(args) => acl::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Broker(args) => broker::run(args),
        Command::Runbook(args) => runbook::run(args),
        Command::Checklist(args) => checklist::run(args),
        Command::Bench(args) => bench::run(*args),
        Command::Schema(args) => schema::run(args),
    };
    ExitCode::from(code)
}
