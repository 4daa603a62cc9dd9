//! `mqttforge verify SPEC`: bring the site up and probe it.

use std::path::PathBuf;

use serde_json::json;

use super::{exit, stdout_style, Format};
use crate::diag;
use crate::diag::Code;
use crate::spec;
use crate::verify::{self, Outcome};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// rumqttd in this process: no other software needed.
    Bundled,
    /// Mosquitto and HAProxy from PATH, on loopback ports.
    Local,
    /// Mosquitto and HAProxy in containers (testcontainers) on a test network.
    Docker,
}

/// Bring a test variant of the site up and probe it.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The site is rendered into a temporary directory (free loopback ports, a throwaway\n\
PKI issued with the site's profiles), started, probed and torn down.\n\
Exit status: 0 every applicable probe passed, 1 a probe failed or the site could not start.\n\n\
With --drill (local and docker runtimes), the rendered backup script runs against the serving\n\
broker and the rendered restore script onto a fresh host; the measured restore time is reported\n\
beside the spec's RTO and the restored data's age beside its RPO. The local drill needs root;\n\
the docker drill runs it as root in a throwaway container of the Mosquitto image.\n\n\
Examples:\n  mqttforge verify site-examples/edge-mosquitto.yaml\n  mqttforge verify site.yaml --runtime bundled --format json\n  mqttforge verify site-examples/mosquitto-ha.yaml --runtime local --drill"
)]
pub struct Args {
    /// The site spec (YAML).
    pub spec: PathBuf,
    /// Where the site runs.
    #[arg(long, value_enum, default_value_t = Runtime::Bundled)]
    pub runtime: Runtime,
    /// Container images for the docker runtime: `mosquitto=NAME:TAG`, `haproxy=NAME:TAG`
    /// (defaults: the official eclipse-mosquitto:2.0.11 and haproxy:2.6; scripts/build-images.sh
    /// builds equivalents from Debian packages).
    #[arg(long = "image", value_name = "ROLE=NAME:TAG")]
    pub images: Vec<String>,
    /// Also run the backup→restore drill: back up the serving broker with the rendered
    /// backup script (age-encrypted), restore onto a fresh host with the rendered restore
    /// script, and check what came back against the spec's RTO and RPO (local and docker runtimes).
    #[arg(long)]
    pub drill: bool,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> u8 {
    let style = stdout_style();
    let site = match spec::load(&args.spec) {
        Ok(s) => s,
        Err(d) => {
            print!("{}", diag::render_text(&d, style));
            return exit::FAILED;
        }
    };
    let work = match tempfile_dir() {
        Ok(w) => w,
        Err(e) => {
            super::report(
                Code::Io,
                format!("cannot create the working directory: {e}"),
                "verify works in a fresh directory under $TMPDIR (or /tmp): make it writable, or point TMPDIR at one that is",
            );
            return exit::FAILED;
        }
    };
    let quiet = args.format == Format::Json;
    let result = match args.runtime {
        Runtime::Bundled => verify::bundled(&site, &args.spec.display().to_string(), &work, quiet),
        Runtime::Local => verify::local::run_with_options(
            &site,
            &args.spec.display().to_string(),
            &work,
            quiet,
            verify::local::Options { drill: args.drill },
            &|_| {},
        ),
        Runtime::Docker => match docker(&site, &args, &work, quiet) {
            Ok(r) => r,
            Err(code) => {
                let _ = std::fs::remove_dir_all(&work);
                return code;
            }
        },
    };
    let _ = std::fs::remove_dir_all(&work);
    let probes = match result {
        Ok(mut p) => {
            if args.drill && args.runtime == Runtime::Bundled {
                p.push(verify::Probe {
                    name: verify::drill::DRILL,
                    outcome: Outcome::NotApplicable(
                        "not run: the bundled broker keeps no persistence to back up; the drill runs on Mosquitto (`--runtime local` or `--runtime docker`)".into(),
                    ),
                });
            }
            p
        }
        Err(d) => {
            print!("{}", diag::render_text(&d, style));
            return exit::FAILED;
        }
    };
    let passed = verify::all_passed(&probes);
    let runtime_name = match args.runtime {
        Runtime::Bundled => "bundled",
        Runtime::Local => "local",
        Runtime::Docker => "docker",
    };
    match args.format {
        Format::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"runtime": runtime_name, "passed": passed, "probes": probes})
                )
                .expect("JSON")
            );
        }
        Format::Text => {
            let width = probes.iter().map(|p| p.name.len()).max().unwrap_or(10);
            for p in &probes {
                let (mark, detail) = match &p.outcome {
                    Outcome::Pass(d) => ("pass", d),
                    Outcome::Fail(d) => ("FAIL", d),
                    Outcome::NotApplicable(d) => ("n/a ", d),
                };
                println!("{mark}  {:width$}  {detail}", p.name);
            }
            let count = |f: fn(&Outcome) -> bool| probes.iter().filter(|p| f(&p.outcome)).count();
            println!(
                "\nverify ({runtime_name}): {} passed, {} failed, {} not applicable",
                count(|o| matches!(o, Outcome::Pass(_))),
                count(|o| matches!(o, Outcome::Fail(_))),
                count(|o| matches!(o, Outcome::NotApplicable(_))),
            );
        }
    }
    if passed {
        exit::OK
    } else {
        exit::FAILED
    }
}

/// A private working directory under the system temp dir.
fn tempfile_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let p = base.join(format!("mqttforge-verify-{}-{n}", std::process::id()));
        if std::fs::DirBuilder::new().mode(0o700).create(&p).is_ok() {
            return Ok(p);
        }
    }
    Err("cannot create a working directory in the temp dir".into())
}

/// The docker runtime with the images of `--image`; `Err(exit code)` for a
/// bad `--image` or a build without the `docker` feature.
#[cfg(feature = "docker")]
fn docker(
    site: &crate::spec::Site,
    args: &Args,
    work: &std::path::Path,
    quiet: bool,
) -> Result<Result<Vec<verify::Probe>, Vec<crate::diag::Diagnostic>>, u8> {
    let mut images = verify::docker::Images::default();
    for i in &args.images {
        match i.split_once('=') {
            Some(("mosquitto", n)) => images.mosquitto = n.to_string(),
            Some(("haproxy", n)) => images.haproxy = n.to_string(),
            _ => {
                super::report(
                    Code::Usage,
                    format!("--image takes mosquitto=NAME:TAG or haproxy=NAME:TAG, not `{i}`"),
                    "e.g. `--image mosquitto=mqttforge-local/mosquitto:2.0.11` (scripts/build-images.sh builds it)",
                );
                return Err(exit::USAGE);
            }
        }
    }
    let mut result =
        verify::docker::run(site, &args.spec.display().to_string(), work, &images, quiet);
    if let (true, Ok(probes)) = (args.drill, &mut result) {
        if site.spec.engine == crate::spec::model::Engine::Mosquitto {
            verify::progress(
                quiet,
                "backup→restore drill (in a fresh container, as root)",
            );
            probes.extend(verify::drill_container::run(&args.spec, &images.mosquitto));
        } else if !probes.iter().any(|p| p.name == verify::drill::DRILL) {
            probes.push(verify::drill::emqx_not_run());
        }
    }
    Ok(result)
}

#[cfg(not(feature = "docker"))]
fn docker(
    _site: &crate::spec::Site,
    _args: &Args,
    _work: &std::path::Path,
    _quiet: bool,
) -> Result<Result<Vec<verify::Probe>, Vec<crate::diag::Diagnostic>>, u8> {
    Err(super::feature_missing(
        "docker",
        "`verify --runtime docker`",
    ))
}
