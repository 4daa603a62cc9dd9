//! `mqttforge acl check SPEC --user U [--client-id C] --read|--write TOPIC`:
//! what the site's generated ACL decides for a client, and which rule
//! decided, evaluated with the engine's own semantics (`crate::acl`).

use std::path::PathBuf;

use serde_json::json;

use super::{exit, stdout_style, Format};
use crate::acl::{self, Access, Who};
use crate::diag;
use crate::diag::Code;
use crate::spec::{self, model::Engine};

/// Exit status of a denied request.
pub const DENIED: u8 = 3;

/// Ask the site's generated ACL.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    Check(CheckArgs),
}

/// What the generated ACL decides for a client reading or writing a topic,
/// and which rule decided.
#[derive(clap::Args, Debug)]
#[command(
    group = clap::ArgGroup::new("access").required(true).args(["read", "write"]),
    after_help = "The site is rendered as `render` would, and its ACL (Mosquitto `mosquitto/acl`, EMQX\n\
`emqx/acl.conf`) evaluated with the broker's semantics. Devices connect with their id as\n\
username (the certificate CN) and client id. rumqttd has no topic authorization.\n\n\
Exit status: 0 allowed, 3 denied, 1 invalid spec or no ACL, 2 usage.\n\n\
Examples:\n  mqttforge acl check site-examples/emqx-cluster.yaml --user sensor-0042 --write devices/sensor-0042/telemetry/temp\n  mqttforge acl check site-examples/mosquitto-ha.yaml --user monitoring --read '$SYS/#'\n  mqttforge acl check site.yaml --user dispatch --client-id dispatch-1 --write devices/forklift-07/cmd/stop --format json"
)]
pub struct CheckArgs {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// The client's username (a device's id, or a user's name).
    #[arg(long, value_name = "USERNAME")]
    pub user: String,
    /// The client id (defaults to the username).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// Subscribe to (receive) this topic or filter.
    #[arg(long, value_name = "TOPIC")]
    pub read: Option<String>,
    /// Publish to this topic.
    #[arg(long, value_name = "TOPIC")]
    pub write: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> u8 {
    match args.command {
        Command::Check(a) => check(a),
    }
}

fn fail(format: Format, message: &str) -> u8 {
    match format {
        Format::Text => super::report(
            Code::Acl,
            message,
            "`mqttforge acl check --help` shows the questions it answers",
        ),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "error": message })).expect("JSON")
        ),
    }
    exit::FAILED
}

fn check(args: CheckArgs) -> u8 {
    let (access, topic) = match request(&args) {
        Ok(request) => request,
        Err(code) => return code,
    };
    let site = match spec::load(&args.spec) {
        Ok(s) => s,
        Err(diags) => {
            print!("{}", diag::render_text(&diags, stdout_style()));
            return exit::FAILED;
        }
    };
    let acl = match generated_acl(&args, &site) {
        Ok(acl) => acl,
        Err(code) => return code,
    };
    let client_id = args.client_id.clone().unwrap_or_else(|| args.user.clone());
    let who = Who {
        cert_common_name: Some(args.user.clone()),
        ..Who::new(Some(&args.user), &client_id)
    };
    let d = acl::decide(&acl, &who, access, &topic);
    let asked = Asked {
        user: &args.user,
        client_id: &client_id,
        access,
        topic: &topic,
    };
    match args.format {
        Format::Text => print_text(&asked, &acl, &d),
        Format::Json => print_json(&asked, site.spec.engine, &acl, &d),
    }
    if d.allowed {
        exit::OK
    } else {
        DENIED
    }
}

/// The access asked for and its topic, refused (usage) when invalid.
fn request(args: &CheckArgs) -> Result<(Access, String), u8> {
    let (access, topic) = match (&args.read, &args.write) {
        (Some(t), None) => (Access::Read, t.clone()),
        (None, Some(t)) => (Access::Write, t.clone()),
        _ => {
            super::report(
                Code::Usage,
                "give exactly one of --read TOPIC and --write TOPIC",
                "e.g. `--user sensor-0001 --write devices/sensor-0001/telemetry/t`",
            );
            return Err(exit::USAGE);
        }
    };
    let problem = match access {
        Access::Write => acl::topic::name_problem(&topic),
        Access::Read => acl::topic::filter_problem(&topic),
    };
    if let Some(p) = problem {
        let what = if access == Access::Read {
            "filter"
        } else {
            "to publish to"
        };
        super::report(
            Code::InvalidTopic,
            format!(
                "`{}` is not a valid topic {what}: {p}",
                topic.escape_debug()
            ),
            "a topic to publish to has no wildcards; a filter uses `+` for one level and `#` last",
        );
        return Err(exit::USAGE);
    }
    Ok((access, topic))
}

/// The ACL the site renders for the user, or the exit status of why there is none.
fn generated_acl(args: &CheckArgs, site: &spec::Site) -> Result<acl::Acl, u8> {
    let engine = site.spec.engine;
    if engine == Engine::Rumqttd {
        return Err(fail(
            args.format,
            &format!(
                "{}: engine rumqttd has no topic authorization: every authenticated client may publish and subscribe to every topic, so there is no ACL to check",
                args.spec.display()
            ),
        ));
    }
    match acl::principal::acl_for(site, &args.spec.display().to_string(), &args.user) {
        Ok(Some(a)) => Ok(a),
        Ok(None) => Err(fail(
            args.format,
            &format!(
                "the site renders no ACL file for engine {}",
                engine.as_str()
            ),
        )),
        Err(acl::principal::Error::Render(diags)) => {
            print!("{}", diag::render_text(&diags, stdout_style()));
            Err(exit::FAILED)
        }
        Err(acl::principal::Error::Parse(e)) => Err(fail(
            args.format,
            &format!(
                "the generated ACL cannot be read: {e} (please report this as a bug in mqttforge)"
            ),
        )),
    }
}

/// What the client asked to do.
struct Asked<'a> {
    user: &'a str,
    client_id: &'a str,
    access: Access,
    topic: &'a str,
}

impl Asked<'_> {
    fn verb(&self) -> &'static str {
        match self.access {
            Access::Read => "subscribe to",
            Access::Write => "publish to",
        }
    }
}

fn print_text(asked: &Asked<'_>, acl: &acl::Acl, d: &acl::Decision) {
    let (user, client_id, topic, verb) = (asked.user, asked.client_id, asked.topic, asked.verb());
    let client = if client_id == user {
        format!("`{user}`")
    } else {
        format!("`{user}` (client id `{client_id}`)")
    };
    if d.allowed {
        println!("allow: {client} may {verb} `{topic}`");
    } else {
        println!("deny: {client} may not {verb} `{topic}`");
    }
    match (&d.rule, &d.note) {
        (Some((span, text)), note) => {
            println!("  decided by {}:{}: {text}", span.file.name, span.line);
            if let Some(note) = note {
                println!("  note: {note}");
            }
        }
        (None, Some(note)) => {
            println!("  decided by the default of {}: {note}", acl.file().name)
        }
        (None, None) => println!(
            "  decided by the default of {}: no rule matches",
            acl.file().name
        ),
    }
}

fn print_json(asked: &Asked<'_>, engine: Engine, acl: &acl::Acl, d: &acl::Decision) {
    let rule = d.rule.as_ref().map(|(span, text)| json!({ "file": span.file.name, "line": span.line, "column": span.col, "text": text }));
    let doc = json!({
        "allowed": d.allowed,
        "decision": if d.allowed { "allow" } else { "deny" },
        "engine": engine.as_str(),
        "acl_file": acl.file().name,
        "username": asked.user,
        "client_id": asked.client_id,
        "access": asked.access.as_str(),
        "topic": asked.topic,
        "rule": rule,
        "note": d.note,
    });
    println!("{}", serde_json::to_string_pretty(&doc).expect("JSON"));
}
