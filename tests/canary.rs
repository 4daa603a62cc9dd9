//! Canary secrets: every secret field of a spec holds a unique canary, every
//! command of the CLI runs on it, and no output stream and no file written
//! holds a canary (raw, base64 in any alignment, or hex), except the files
//! that carry a secret to its service by design, listed in [`SECRET_FILES`]
//! with the widest mode each may have.
//!
//! The secret fields are found from the schema (every value of the `Secret`
//! definition, `spec::schema::is_secret_value`), not listed by hand, so a new
//! secret field is covered when it is added. Each site runs twice: secrets
//! inline (`value:`, which lint warns about and every snippet masks) and as
//! references (`env:` and `file:`, resolved by render and apply).

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;

/// The files that hold a secret in clear by design: the environment files
/// systemd reads as root and hands to EMQX (cookie, dashboard password) and
/// HAProxy (stats password). Path suffix (in the output tree, or at the
/// install path under `apply --root`) and the widest mode allowed.
const SECRET_FILES: &[(&str, u32)] = &[
    ("emqx/emqx.env", 0o600),
    ("haproxy/haproxy.env", 0o600),
    ("etc/mqttforge/emqx.env", 0o600),
    ("etc/mqttforge/haproxy.env", 0o600),
];

/// How the canary spec gives its secrets.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// `{ value: CANARY }`.
    Inline,
    /// `{ env: NAME }` and `{ file: PATH }`, alternately.
    Reference,
}

/// A canary: unique per field and per generation (a later apply changes
/// every secret), valid for every secret field (an EMQX cookie is 16 to 255
/// characters of A-Z a-z 0-9 _ -, starting with a letter).
fn canary(field: usize, generation: usize) -> String {
    format!("Cnry{field}x{generation}Q7zKw9VbT2")
}

/// A secret of the spec: its pointer and its canaries.
struct Planted {
    pointer: String,
    canaries: Vec<String>,
}

/// The example's JSON with every secret replaced by a canary of
/// `generation`; the secret sources (environment, files) it needs.
fn canary_spec(
    example: &str,
    form: Form,
    generation: usize,
    dir: &Path,
) -> (Value, Vec<Planted>, BTreeMap<String, String>) {
    let path = common::root().join("site-examples").join(example);
    let text = std::fs::read_to_string(&path).expect("the example reads");
    let file = mqttforge::source::SourceFile::new(example, text);
    let doc = mqttforge::formats::yaml::load_yaml(&file).expect("the example loads");
    let mut json = doc.json;
    // Fleets of five devices: how secrets are handled does not depend on
    // the fleet's size, and the test's run time does.
    if let Some(Value::Array(devices)) = json.get_mut("devices") {
        for fleet in devices.iter_mut().filter_map(|d| d.get_mut("fleet")) {
            let from = fleet["from"].as_u64().expect("a fleet's from");
            fleet["to"] = Value::from(from + 4);
        }
    }
    let mut planted = Vec::new();
    let mut env = BTreeMap::new();
    plant(
        &mut json,
        String::new(),
        form,
        generation,
        dir,
        &mut planted,
        &mut env,
    );
    (json, planted, env)
}

fn plant(
    node: &mut Value,
    pointer: String,
    form: Form,
    generation: usize,
    dir: &Path,
    planted: &mut Vec<Planted>,
    env: &mut BTreeMap<String, String>,
) {
    if !pointer.is_empty()
        && node.is_object()
        && mqttforge::spec::schema::is_secret_value(&format!("{pointer}/value"))
    {
        let index = planted.len();
        let value = canary(index, generation);
        // The backup script reads the age recipient from its environment at
        // run time (the spec refuses it inline).
        let by_env = pointer.ends_with("/age_recipient") || index.is_multiple_of(2);
        *node = match form {
            Form::Inline if !pointer.ends_with("/age_recipient") => {
                serde_json::json!({ "value": value })
            }
            _ if by_env => {
                let name = format!("CANARY_SECRET_{index}");
                env.insert(name.clone(), value.clone());
                serde_json::json!({ "env": name })
            }
            _ => {
                let file = dir.join(format!("secret-{index}-{generation}"));
                std::fs::write(&file, format!("{value}\n")).expect("write the secret file");
                serde_json::json!({ "file": file.to_str().expect("a UTF-8 temp path") })
            }
        };
        planted.push(Planted {
            pointer,
            canaries: vec![value],
        });
        return;
    }
    match node {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let p = mqttforge::source::pointer_join(&pointer, k);
                plant(v, p, form, generation, dir, planted, env);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let p = mqttforge::source::pointer_join(&pointer, i);
                plant(v, p, form, generation, dir, planted, env);
            }
        }
        _ => {}
    }
}

/// The forms of a canary a leak could take: raw, lower and upper hex, and
/// base64 in each of the three alignments (the aligned middle of the
/// encoding, which any base64 text holding the canary contains).
fn forms(canary: &str) -> Vec<String> {
    let bytes = canary.as_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut out = vec![canary.to_string(), hex.to_uppercase(), hex];
    for skip in 0..3 {
        let rest = &bytes[skip..];
        let aligned = &rest[..rest.len() / 3 * 3];
        out.push(base64::engine::general_purpose::STANDARD.encode(aligned));
        out.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aligned));
    }
    out
}

/// Every place a canary was found: (where, which field's canary, form).
#[derive(Default)]
struct Scan {
    needles: Vec<(String, String)>,
    leaks: Vec<String>,
    /// The [`SECRET_FILES`] entries a canary was found in.
    allowed_seen: std::collections::BTreeSet<&'static str>,
    commands: usize,
    files: usize,
}

impl Scan {
    fn new(planted: &[Planted]) -> Scan {
        let mut needles = Vec::new();
        for p in planted {
            for c in &p.canaries {
                for f in forms(c) {
                    needles.push((p.pointer.clone(), f));
                }
            }
        }
        Scan {
            needles,
            ..Scan::default()
        }
    }

    fn add_generation(&mut self, planted: &[Planted]) {
        let more = Scan::new(planted).needles;
        self.needles.extend(more);
    }

    /// The pointers of the secrets found in the bytes, each once.
    fn found_in(&self, bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        let mut found: Vec<String> = self
            .needles
            .iter()
            .filter(|(_, n)| text.contains(n.as_str()))
            .map(|(p, _)| p.clone())
            .collect();
        found.dedup();
        found
    }

    fn check_output(&mut self, what: &str, out: &Output) {
        self.commands += 1;
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for pointer in self.found_in(bytes) {
                self.leaks
                    .push(format!("`{what}` {stream}: the secret at {pointer}"));
            }
        }
    }

    /// Every file under `dir` (inputs excepted), each found canary allowed
    /// only in a [`SECRET_FILES`] file no wider than its mode.
    fn check_tree(&mut self, dir: &Path, inputs: &[PathBuf]) {
        for path in walk(dir) {
            if inputs.contains(&path) {
                continue;
            }
            self.files += 1;
            let bytes = std::fs::read(&path).expect("read a written file");
            let found = self.found_in(&bytes);
            if found.is_empty() {
                continue;
            }
            let shown = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            match SECRET_FILES
                .iter()
                .find(|(suffix, _)| path.ends_with(suffix))
            {
                Some((suffix, widest)) => {
                    self.allowed_seen.insert(suffix);
                    let mode = std::fs::symlink_metadata(&path)
                        .unwrap()
                        .permissions()
                        .mode()
                        & 0o777;
                    if mode & !widest != 0 {
                        self.leaks.push(format!(
                            "{shown}: holds a secret by design, but its mode {mode:04o} is wider than {widest:04o}"
                        ));
                    }
                }
                None => {
                    for pointer in found {
                        self.leaks.push(format!("{shown}: the secret at {pointer}"));
                    }
                }
            }
        }
    }
}

/// Every regular file under a directory (symlinks not followed).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read a written directory") {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

/// Runs the binary in `dir` with the secrets' environment.
fn run(dir: &Path, env: &BTreeMap<String, String>, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(env)
        .output()
        .expect("the mqttforge binary runs")
}

/// A CSR for a device of the spec (its own key), for `pki sign`.
fn device_csr(id: &str) -> String {
    let key = rcgen::KeyPair::generate().expect("an ECDSA key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, id);
    params.serialize_request(&key).unwrap().pem().unwrap()
}

/// Every command of the CLI on the canary spec of `example`; returns the
/// scan (leaks, and how much was looked at).
fn run_everything(example: &str, form: Form, node: &str, device: &str, user: &str) -> Scan {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let dir = tmp.path();
    let (json, planted, env) = canary_spec(example, form, 0, dir);
    assert!(
        planted.len() >= 3,
        "{example}: only {} secret fields found: {:?}",
        planted.len(),
        planted.iter().map(|p| &p.pointer).collect::<Vec<_>>()
    );
    let spec = dir.join("spec.yaml");
    std::fs::write(&spec, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    // A second generation: every secret changed, for plan and apply over a
    // tree holding the first.
    let (json2, planted2, env2) = canary_spec(example, form, 1, dir);
    let spec2 = dir.join("spec2.yaml");
    std::fs::write(&spec2, serde_json::to_string_pretty(&json2).unwrap()).unwrap();
    let mut scan = Scan::new(&planted);
    scan.add_generation(&planted2);
    // An over-long inline value is refused by the schema: the message about
    // its length must not quote it either.
    let mut long = json.clone();
    let long_value = format!("{}{}", canary(99, 9), "y".repeat(5000));
    *long.pointer_mut(&planted[0].pointer).unwrap() = serde_json::json!({ "value": long_value });
    let spec_long = dir.join("spec-long.yaml");
    std::fs::write(&spec_long, serde_json::to_string_pretty(&long).unwrap()).unwrap();
    scan.needles
        .push(("(over-long value)".into(), canary(99, 9)));

    let csr = dir.join("device.csr");
    std::fs::write(&csr, device_csr(device)).unwrap();
    let mut inputs: Vec<PathBuf> = vec![spec.clone(), spec2.clone(), spec_long.clone(), csr];
    inputs.extend(walk(dir)); // the secret files of the `file:` form

    let both: BTreeMap<String, String> = env.clone().into_iter().chain(env2.clone()).collect();
    let read = format!("devices/{device}/cmd/x");
    let with = |env: &BTreeMap<String, String>, args: &[&str]| run(dir, env, args);
    let mut commands: Vec<(Vec<&str>, &BTreeMap<String, String>)> = vec![
        (vec!["validate", "spec.yaml"], &env),
        (vec!["validate", "spec.yaml", "--format", "json"], &env),
        (vec!["validate", "spec-long.yaml"], &env),
        (vec!["validate", "spec-long.yaml", "--format", "json"], &env),
        (vec!["lint", "spec-long.yaml"], &env),
        (vec!["lint", "spec.yaml"], &env),
        (vec!["lint", "spec.yaml", "--format", "json"], &env),
        (vec!["lint", "spec.yaml", "--format", "sarif"], &env),
        // The baseline file is scanned with the rest of the tree.
        (
            vec![
                "lint",
                "spec.yaml",
                "--write-baseline",
                "lint-baseline.json",
            ],
            &env,
        ),
        (vec!["render", "spec.yaml", "--out", "rendered"], &env),
        (
            vec!["render", "spec.yaml", "--out", "public", "--no-secrets"],
            &env,
        ),
        (vec!["plan", "spec.yaml", "--out", "out"], &env),
        (
            vec!["apply", "spec.yaml", "--out", "out", "--auto-approve"],
            &env,
        ),
        (
            vec!["plan", "spec.yaml", "--out", "out", "--format", "json"],
            &env,
        ),
        // Every secret changed: the plan shows the secret files changing,
        // never their contents.
        (vec!["plan", "spec2.yaml", "--out", "out"], &env2),
        (
            vec!["plan", "spec2.yaml", "--out", "out", "--format", "json"],
            &env2,
        ),
        (
            vec!["apply", "spec2.yaml", "--out", "out", "--auto-approve"],
            &env2,
        ),
        (
            vec!["plan", "spec2.yaml", "--out", "out", "--no-secrets"],
            &env2,
        ),
        (vec!["pki", "init", "spec.yaml", "--dir", "pki"], &env),
        (
            vec!["pki", "issue", "server", "spec.yaml", "--dir", "pki"],
            &env,
        ),
        (
            vec![
                "pki",
                "issue",
                "device",
                "spec.yaml",
                "--dir",
                "pki",
                "--id",
                device,
            ],
            &env,
        ),
        (
            vec![
                "pki",
                "sign",
                "spec.yaml",
                "--dir",
                "pki",
                "--csr",
                "device.csr",
                "--out",
                "signed.pem",
            ],
            &env,
        ),
        (vec!["pki", "status", "spec.yaml", "--dir", "pki"], &env),
        (
            vec![
                "pki",
                "status",
                "spec.yaml",
                "--dir",
                "pki",
                "--format",
                "json",
            ],
            &env,
        ),
        (
            vec![
                "pki",
                "renew",
                "spec.yaml",
                "--dir",
                "pki",
                "--within",
                "4000d",
            ],
            &env,
        ),
        (
            vec![
                "pki",
                "revoke",
                "spec.yaml",
                device,
                "--dir",
                "pki",
                "--reason",
                "keyCompromise",
            ],
            &env,
        ),
        (vec!["pki", "crl", "spec.yaml", "--dir", "pki"], &env),
        (
            vec![
                "plan",
                "spec.yaml",
                "--root",
                "host",
                "--host",
                node,
                "--pki",
                "pki",
            ],
            &env,
        ),
        (
            vec![
                "apply",
                "spec.yaml",
                "--root",
                "host",
                "--host",
                node,
                "--pki",
                "pki",
                "--auto-approve",
            ],
            &env,
        ),
        (
            vec![
                "apply",
                "spec2.yaml",
                "--root",
                "host",
                "--host",
                node,
                "--pki",
                "pki",
                "--auto-approve",
            ],
            &env2,
        ),
        (
            vec![
                "plan",
                "spec2.yaml",
                "--root",
                "host",
                "--host",
                node,
                "--pki",
                "pki",
                "--format",
                "json",
            ],
            &env2,
        ),
        (
            vec![
                "acl",
                "check",
                "spec.yaml",
                "--user",
                device,
                "--read",
                &read,
            ],
            &env,
        ),
        (
            vec![
                "acl",
                "check",
                "spec.yaml",
                "--user",
                user,
                "--write",
                "x/y",
                "--format",
                "json",
            ],
            &env,
        ),
        (vec!["explain", "MQ-AUTH-002"], &both),
        (vec!["explain", "--all"], &both),
        (vec!["schema"], &both),
        (vec!["completions", "bash"], &both),
        (vec!["completions", "zsh"], &both),
        (vec!["man", "--out", "man"], &both),
        (vec!["verify", "--help"], &both),
        (vec!["broker", "--help"], &both),
        (vec!["bench", "--help"], &both),
        (vec!["--help"], &both),
    ];
    let mut failed = Vec::new();
    for (args, env) in commands.drain(..) {
        let out = with(env, &args);
        let what = args.join(" ");
        // Commands that must succeed on the canary spec do (a command that
        // fails early would prove nothing about its output).
        let must_pass = matches!(args[0], "render" | "apply" | "pki" | "validate" | "acl")
            && !args.contains(&"spec-long.yaml");
        // acl check exits 3 for a denial.
        let ok = out.status.success() || (args[0] == "acl" && out.status.code() == Some(3));
        if must_pass && !ok {
            failed.push(format!(
                "`{what}` failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        scan.check_output(&what, &out);
    }
    // The load balancer's host gets HAProxy's environment file.
    if json.get("load_balancer").is_some() {
        for args in [
            [
                "apply",
                "spec.yaml",
                "--root",
                "lb",
                "--host",
                "lb",
                "--auto-approve",
            ],
            [
                "plan",
                "spec2.yaml",
                "--root",
                "lb",
                "--host",
                "lb",
                "--no-secrets",
            ],
        ] {
            let out = with(&env, &args);
            if !out.status.success() {
                failed.push(format!(
                    "`{}` failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            scan.check_output(&args.join(" "), &out);
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // The audit of everything written (the rendered trees, the host root,
    // the PKI): its output must not quote a secret file either.
    let written: Vec<String> = walk(dir)
        .into_iter()
        .filter(|p| !inputs.contains(p))
        .map(|p| p.strip_prefix(dir).unwrap().display().to_string())
        .collect();
    assert!(
        written
            .iter()
            .any(|p| p.ends_with("emqx/emqx.env") || p.ends_with("mosquitto/passwd")),
        "render wrote no secret-bearing file: {written:?}"
    );
    for format in ["text", "json", "sarif"] {
        let mut args = vec!["audit", "--format", format];
        if format == "text" {
            args.extend(["--write-baseline", "audit-baseline.json"]);
        }
        args.extend(written.iter().map(String::as_str));
        let out = with(&both, &args);
        scan.check_output(
            &format!("audit --format {format} <every written file>"),
            &out,
        );
    }
    scan.check_tree(dir, &inputs);
    scan
}

fn assert_no_leak(scan: &Scan) {
    assert!(
        scan.leaks.is_empty(),
        "secrets leaked ({} commands, {} files scanned):\n{}",
        scan.commands,
        scan.files,
        scan.leaks.join("\n")
    );
    assert!(scan.commands > 40 && scan.files > 20, "too little scanned");
}

/// The EMQX site writes every file of [`SECRET_FILES`] (so the table holds
/// no entry that allows nothing).
fn assert_every_secret_file_seen(scan: &Scan) {
    let all: std::collections::BTreeSet<&str> = SECRET_FILES.iter().map(|(p, _)| *p).collect();
    assert_eq!(scan.allowed_seen, all);
}

#[test]
fn emqx_cluster_inline_secrets_never_leave_the_secret_files() {
    let scan = run_everything(
        "emqx-cluster.yaml",
        Form::Inline,
        "mqtt1",
        "valve-001",
        "admin",
    );
    assert_no_leak(&scan);
    assert_every_secret_file_seen(&scan);
}

#[test]
fn emqx_cluster_referenced_secrets_never_leave_the_secret_files() {
    let scan = run_everything(
        "emqx-cluster.yaml",
        Form::Reference,
        "mqtt1",
        "valve-001",
        "admin",
    );
    assert_no_leak(&scan);
    assert_every_secret_file_seen(&scan);
}

#[test]
fn mosquitto_inline_secrets_never_leave_the_secret_files() {
    assert_no_leak(&run_everything(
        "edge-mosquitto.yaml",
        Form::Inline,
        "edge1",
        "press-01",
        "gateway-01",
    ));
}

#[test]
fn mosquitto_referenced_secrets_never_leave_the_secret_files() {
    assert_no_leak(&run_everything(
        "edge-mosquitto.yaml",
        Form::Reference,
        "edge1",
        "press-01",
        "gateway-01",
    ));
}

/// The scan itself finds a canary in each form it claims to look for.
#[test]
fn the_scan_finds_every_form_of_a_canary() {
    let planted = vec![Planted {
        pointer: "/users/0/password".into(),
        canaries: vec![canary(0, 0)],
    }];
    let scan = Scan::new(&planted);
    let secret = canary(0, 0);
    let hex: String = secret.bytes().map(|b| format!("{b:02X}")).collect();
    let mut cases = vec![format!("x={secret}\n"), format!("dump {hex}")];
    for pad in ["", "a", "ab"] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{pad}{secret}zz"));
        cases.push(format!("Basic {b64}"));
    }
    for case in cases {
        assert!(
            !scan.found_in(case.as_bytes()).is_empty(),
            "not found in {case:?}"
        );
    }
    assert!(scan.found_in(b"Cnry0x0Q7zKw9Vb").is_empty());
}
