//! Hostile input, as a class: no value, the spec's own path included, can
//! add a line, a directive or a term to a rendered file.
//!
//! - The escaping functions of every output syntax, round-tripped through
//!   that syntax's parser (the project's own, or the real tool) on the values
//!   of `tests/fixtures/escaping/hostile-values.json`.
//! - The reproductions of issue 11: a spec path that adds a command to
//!   `backup.sh` or a term to `acl.conf`, a `*/` that ends a C comment, a
//!   `??/` trigraph that turns a C string into code, an inline secret echoed
//!   by a message.
//! - A property test: hostile values in every string field of every example
//!   and in the spec's path are refused by validation at their position, or
//!   every rendered file keeps its structure (the same lines, directives and
//!   terms as with a benign value) and parses with its own parser; a sample
//!   goes through the real checkers (`bash -n`, `gcc`, `promtool`,
//!   `haproxy -c`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mqttforge::acl::mosquitto as mosquitto_acl;
use mqttforge::audit::{self, Input};
use mqttforge::facts::files::{haproxy, mosquitto_conf};
use mqttforge::facts::{Facts, Origin};
use mqttforge::formats::{erlang, hocon, yaml};
use mqttforge::render::templates::{self, Syntax, SYNTAXES};
use mqttforge::render::{render, render_bundled, RenderOptions, SecretMode};
use mqttforge::source::{self, SourceFile};
use mqttforge::spec::{self, model::Environment};
use proptest::prelude::*;
use serde_json::Value;

// ------------------------------------------------------------------ helpers

fn tool(name: &str) -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
    {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` is not installed (scripts/install-test-deps.sh installs it)");
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn hostile_values() -> Vec<String> {
    let text =
        std::fs::read_to_string(common::root().join("tests/fixtures/escaping/hostile-values.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn facts() -> Facts {
    Facts::new(Origin::File, Environment::Production)
}

fn sysctl_extract(i: &Input, f: &mut Facts) -> Result<(), mqttforge::diag::Diagnostic> {
    (audit::kind("sysctl").unwrap().extract)(i, f)
}

fn systemd_extract(i: &Input, f: &mut Facts) -> Result<(), mqttforge::diag::Diagnostic> {
    (audit::kind("systemd").unwrap().extract)(i, f)
}

fn input(path: &str, text: &str) -> Input {
    Input {
        path: PathBuf::from(path),
        file: SourceFile::new(path, text),
    }
}

// ------------------------------------------- escaping, one test per syntax

#[test]
fn hocon_quoting_round_trips() {
    for v in hostile_values() {
        let quoted = Syntax::Hocon.quote(&v).unwrap();
        let key = Syntax::Hocon.bare(&v).unwrap();
        let text = format!(
            "# {}\na {{\n  b = {quoted}\n  {key} = 1\n}}\n",
            Syntax::Hocon.comment(&v)
        );
        let root = hocon::parse(&text).unwrap_or_else(|e| panic!("{v:?}: {e}\n{text}"));
        let leaves = hocon::flatten(&root);
        assert_eq!(leaves.len(), 2, "{v:?}:\n{text}");
        assert_eq!(
            leaves[0].2.value,
            hocon::Value::String(v.clone()),
            "{v:?}:\n{text}"
        );
    }
}

#[test]
fn toml_quoting_round_trips() {
    for v in hostile_values() {
        let text = format!(
            "# {}\nb = {}\n[t.{}]\nk = 1\n",
            Syntax::Toml.comment(&v),
            Syntax::Toml.quote(&v).unwrap(),
            Syntax::Toml.bare(&v).unwrap()
        );
        let table: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{v:?}: {e}\n{text}"));
        assert_eq!(table.len(), 2, "{text}");
        assert_eq!(table["b"].as_str(), Some(v.as_str()));
        let t = table["t"].as_table().unwrap();
        assert_eq!(t.keys().collect::<Vec<_>>(), [&v], "{text}");
    }
}

#[test]
fn yaml_quoting_round_trips() {
    for v in hostile_values() {
        let mut text = format!(
            "# {}\nk: {}\nl: [x]\n",
            Syntax::Yaml.comment(&v),
            Syntax::Yaml.quote(&v).unwrap()
        );
        let bare = Syntax::Yaml.bare(&v);
        if let Ok(b) = &bare {
            text.push_str(&format!("m: x{b}\n"));
        }
        let doc = yaml::load_yaml(&SourceFile::new("t.yaml", text.as_str()))
            .unwrap_or_else(|e| panic!("{v:?}: {e:?}\n{text}"));
        assert_eq!(doc.json["k"], Value::String(v.clone()), "{text}");
        assert_eq!(doc.json["l"], serde_json::json!(["x"]), "{text}");
        if bare.is_ok() {
            assert_eq!(doc.json["m"], Value::String(format!("x{v}")), "{text}");
        }
    }
}

#[test]
fn erlang_quoting_round_trips() {
    for v in hostile_values() {
        let q = Syntax::Erlang.quote(&v).unwrap();
        let mut text = format!(
            "%% {}\n{{allow, {{username, {q}}}, publish, [{q}]}}.\n",
            Syntax::Erlang.comment(&v)
        );
        if let Ok(b) = Syntax::Erlang.bare(&v) {
            text.push_str(&format!("%% {b}\n"));
        }
        text.push_str("{deny, all}.\n");
        let terms = erlang::parse(&text).unwrap_or_else(|e| panic!("{v:?}: {e}\n{text}"));
        assert_eq!(terms.len(), 2, "{text}");
        let erlang::Term::Tuple(items) = &terms[0].term else {
            panic!("{text}")
        };
        assert_eq!(items.len(), 4, "{text}");
        let erlang::Term::List(topics) = &items[3].term else {
            panic!("{text}")
        };
        assert_eq!(topics.len(), 1, "{text}");
        assert_eq!(topics[0].term, erlang::Term::Str(v.clone()), "{text}");
    }
}

#[test]
fn shell_quoting_round_trips_through_bash() {
    let bash = tool("bash");
    let values: Vec<String> = hostile_values()
        .into_iter()
        .filter(|v| {
            let quoted = Syntax::Shell.quote(v);
            assert_eq!(quoted.is_err(), v.contains('\0'), "{v:?}");
            quoted.is_ok()
        })
        .collect();
    let mut script = String::from("set -eu\n");
    for v in &values {
        script.push_str(&format!("# {}\n", Syntax::Shell.comment(v)));
        script.push_str(&format!(
            "printf '%s\\0' {}\n",
            Syntax::Shell.quote(v).unwrap()
        ));
        if let Ok(b) = Syntax::Shell.bare(v) {
            script.push_str(&format!("printf '%s\\0' x{b}\n"));
        }
    }
    let out = Command::new(bash).arg("-c").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected = Vec::new();
    for v in &values {
        expected.extend_from_slice(v.as_bytes());
        expected.push(0);
        if Syntax::Shell.bare(v).is_ok() {
            expected.extend_from_slice(format!("x{v}").as_bytes());
            expected.push(0);
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&expected)
    );
}

/// Compiles `body` (a C program printing to stdout) and returns its output.
fn run_c(body: &str, flags: &[&str]) -> Vec<u8> {
    let gcc = tool("gcc");
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("t.c");
    let exe = dir.path().join("t");
    std::fs::write(&src, body).unwrap();
    let (ok, out) = run(Command::new(gcc)
        .args(flags)
        .args(["-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src));
    assert!(ok, "gcc:\n{out}\n{body}");
    let out = Command::new(&exe).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn c_strings_and_comments_round_trip_through_gcc() {
    let values = hostile_values();
    let mut body = String::from("#include <stdio.h>\n#include <string.h>\n");
    body.push_str("static const char *const values[] = {\n");
    for v in &values {
        body.push_str(&format!(
            "    /* {} */\n    {},\n",
            Syntax::C.comment(v),
            Syntax::C.quote(v).unwrap()
        ));
    }
    body.push_str("};\nstatic const size_t lengths[] = {\n");
    for v in &values {
        // A NUL ends the string at run time: compare with what precedes it.
        body.push_str(&format!("    sizeof({}) - 1,\n", templates::c_str(v)));
    }
    body.push_str(
        "};\nint main(void) {\n    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {\n        fwrite(values[i], 1, lengths[i], stdout);\n        putchar('|');\n    }\n    return 0;\n}\n",
    );
    let out = run_c(&body, &["-std=c11", "-trigraphs", "-Wno-trigraphs"]);
    let mut expected = Vec::new();
    for v in &values {
        expected.extend_from_slice(v.as_bytes());
        expected.push(b'|');
    }
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn haproxy_words_round_trip_through_its_tokenizer_and_haproxy() {
    let mut cfg = String::from("global\n");
    for v in hostile_values() {
        cfg.push_str(&format!("    # {}\n", Syntax::Haproxy.comment(&v)));
        let Ok(quoted) = Syntax::Haproxy.quote(&v) else {
            assert!(v.chars().any(templates::is_line_hazard), "{v:?}");
            continue;
        };
        let words = haproxy::tokenize(&format!("    description {quoted}"), 1).unwrap();
        assert_eq!(words.len(), 2, "{v:?} as {quoted}");
        assert_eq!(words[1].text, v, "{quoted}");
        if let Ok(b) = Syntax::Haproxy.bare(&v) {
            let words = haproxy::tokenize(&format!("server {b} 127.0.0.1:1883"), 1).unwrap();
            assert_eq!(words.len(), 3, "{v:?}");
            assert_eq!(words[1].text, v);
        }
        if !v.is_empty() {
            cfg.push_str(&format!("    description {quoted}\n"));
        }
    }
    cfg.push_str(
        "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nfrontend f\n    bind 127.0.0.1:65000\n    default_backend b\n\nbackend b\n    server s1 127.0.0.1:1883\n",
    );
    assert!(haproxy::parse(&cfg).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("haproxy.cfg");
    std::fs::write(&path, &cfg).unwrap();
    let (ok, out) = run(Command::new(tool("haproxy")).arg("-c").arg("-f").arg(&path));
    assert!(ok, "haproxy -c:\n{out}\n{cfg}");
}

#[test]
fn nginx_words_round_trip_through_a_tokenizer_and_nginx() {
    let mut conf = String::new();
    for v in hostile_values() {
        conf.push_str(&format!("# {}\n", Syntax::Nginx.comment(&v)));
        let value = format!("X={v}");
        let Ok(quoted) = Syntax::Nginx.quote(&value) else {
            assert!(
                v.chars().any(|c| templates::is_line_hazard(c) || c == '$'),
                "{v:?}"
            );
            continue;
        };
        let line = format!("env {quoted};\n");
        assert_eq!(
            nginx_directives(&line).unwrap(),
            vec![(';', vec!["env".to_string(), value.clone()])],
            "{line}"
        );
        if let Ok(b) = Syntax::Nginx.bare(&v) {
            let d = nginx_directives(&format!("server {b}:1883 backup;")).unwrap();
            assert_eq!(d[0].1.len(), 3, "{v:?}");
            assert_eq!(d[0].1[1], format!("{v}:1883"));
        }
        conf.push_str(&line);
    }
    conf.push_str("pid /tmp/mqttforge-hostile-nginx.pid;\nerror_log stderr;\nevents {}\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nginx.conf");
    std::fs::write(&path, &conf).unwrap();
    let (ok, out) = run(Command::new(tool("nginx")).arg("-t").arg("-c").arg(&path));
    assert!(ok, "nginx -t:\n{out}\n{conf}");
}

#[test]
fn rsyslog_strings_hold_their_value_and_rsyslogd_accepts_them() {
    let mut conf = String::from("module(load=\"imfile\")\n");
    for (i, v) in hostile_values().iter().enumerate() {
        conf.push_str(&format!("# {}\n", Syntax::Rsyslog.comment(v)));
        match Syntax::Rsyslog.quote(v) {
            Ok(quoted) => {
                // A string constant: the value between the quotes, nothing
                // that ends it early or escapes.
                assert_eq!(quoted, format!("\"{v}\""));
                conf.push_str(&format!(
                    "input(type=\"imfile\" File=\"/var/log/hostile-{i}.log\" Tag={quoted})\n"
                ));
            }
            Err(_) => assert!(
                v.chars()
                    .any(|c| templates::is_line_hazard(c) || matches!(c, '"' | '\\' | '`')),
                "{v:?}"
            ),
        }
        if let Ok(b) = Syntax::Rsyslog.bare(v) {
            assert!(
                b.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.:/-".contains(c)),
                "{v:?}"
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rsyslog.conf");
    std::fs::write(
        &path,
        format!(
            "global(workDirectory=\"{}\")\n{conf}action(type=\"omfile\" file=\"/dev/null\")\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let (ok, out) = run(Command::new(tool("rsyslogd"))
        .arg("-N1")
        .arg("-f")
        .arg(&path));
    assert!(ok, "rsyslogd -N1:\n{out}\n{conf}");
}

/// Grafana Alloy (logs/config.alloy): no Debian package has Alloy, so a
/// reader of its syntax (tests/common/alloy.rs, after Alloy's own
/// documentation) stands in for it. Every hostile value either comes back
/// whole from a string literal, or is refused; in a `//` or `/* */` comment
/// it cannot end the comment or add a line; a bare value is always refused.
#[test]
fn alloy_strings_hold_their_value_and_comments_stay_closed() {
    let mut conf = String::new();
    let mut want = Vec::new();
    for v in hostile_values() {
        assert!(Syntax::Alloy.bare(&v).is_err(), "{v:?} written bare");
        conf.push_str(&format!(
            "// {c}\n/* {c} */\n",
            c = Syntax::Alloy.comment(&v)
        ));
        match Syntax::Alloy.quote(&v) {
            Ok(quoted) => {
                assert_eq!(quoted, format!("\"{v}\""));
                conf.push_str(&format!("blk \"l\" {{\n  a = {quoted}\n}}\n"));
                want.push(v);
            }
            Err(_) => assert!(
                v.chars()
                    .any(|c| templates::is_line_hazard(c) || matches!(c, '"' | '\\')),
                "{v:?}"
            ),
        }
    }
    assert!(!want.is_empty());
    let root = common::alloy::parse(&conf).unwrap_or_else(|e| panic!("{e}\n{conf}"));
    let got: Vec<String> = root
        .blocks
        .iter()
        .map(|b| match b.attr("a") {
            Some([common::alloy::Token::Str(s)]) => s.clone(),
            other => panic!("{other:?}\n{conf}"),
        })
        .collect();
    assert_eq!(got, want);
}

/// Line-based syntaxes have no quoting: a value is written bare or refused,
/// and a written one stays on its line.
#[test]
fn mosquitto_conf_values_stay_on_their_line() {
    for v in hostile_values() {
        let text = format!("# {}\nuser mosquitto\n", Syntax::MosquittoConf.comment(&v));
        assert_eq!(mosquitto_conf::parse(&text).unwrap().len(), 1, "{text}");
        match Syntax::MosquittoConf.bare(&v) {
            Err(_) => assert!(v.chars().any(templates::is_line_hazard), "{v:?}"),
            Ok(b) => {
                let text = format!("pid_file {b}\nuser mosquitto\n");
                let lines = mosquitto_conf::parse(&text).unwrap();
                assert_eq!(lines.len(), 2, "{text}");
                // Mosquitto trims the value's surrounding blanks, nothing else.
                assert_eq!(lines[0].value, v.trim(), "{text}");
            }
        }
        assert!(Syntax::MosquittoConf.quote(&v).is_err());
    }
}

#[test]
fn mosquitto_acl_values_stay_on_their_line() {
    for v in hostile_values() {
        let comment = Syntax::MosquittoAcl.comment(&v);
        let Ok(b) = Syntax::MosquittoAcl.bare(&v) else {
            assert!(v.chars().any(templates::is_line_hazard), "{v:?}");
            continue;
        };
        if b.trim().is_empty() {
            continue; // Mosquitto refuses an empty topic; no line is added either way
        }
        let text = format!("# {comment}\nuser u1\ntopic read {b}\n");
        let acl = mosquitto_acl::parse(&SourceFile::new("acl", text.as_str()))
            .unwrap_or_else(|e| panic!("{v:?}: {e:?}\n{text}"));
        assert_eq!((acl.users.len(), acl.entries.len()), (1, 1), "{text}");
    }
}

#[test]
fn sysctl_systemd_and_modules_values_stay_on_their_line() {
    for v in hostile_values() {
        let bare = |s: Syntax| s.bare(&v).map(|b| b.into_owned());
        if let Ok(b) = bare(Syntax::Sysctl) {
            let mut f = facts();
            let text = format!(
                "# {}\nnet.core.somaxconn = x{b}\n",
                Syntax::Sysctl.comment(&v)
            );
            sysctl_extract(&input("99-t.conf", &text), &mut f).unwrap();
            assert_eq!(f.sysctls.len(), 1, "{text}");
        } else {
            assert!(v.chars().any(templates::is_line_hazard), "{v:?}");
        }
        if let Ok(b) = bare(Syntax::ModulesLoad) {
            let mut f = facts();
            let text = format!("# {}\nx{b}\n", Syntax::ModulesLoad.comment(&v));
            sysctl_extract(&input("modules-load.d/t.conf", &text), &mut f).unwrap();
            assert_eq!(f.modules.len(), 1, "{text}");
        }
        match bare(Syntax::Systemd) {
            Ok(b) => {
                let mut f = facts();
                let text = format!(
                    "# {}\n# {b}\n[Service]\nLimitNOFILE=4096\n",
                    Syntax::Systemd.comment(&v)
                );
                systemd_extract(&input("mosquitto.service.d/limits.conf", &text), &mut f).unwrap();
                assert_eq!(f.nofile.map(|n| n.0), Some(4096), "{text}");
            }
            Err(_) => assert!(
                v.contains('\\') || v.chars().any(templates::is_line_hazard),
                "{v:?}"
            ),
        }
    }
}

#[test]
fn every_syntax_refuses_or_escapes_every_line_hazard() {
    for syntax in SYNTAXES {
        for v in hostile_values() {
            for text in [syntax.bare(&v).map(|b| b.into_owned()), syntax.quote(&v)]
                .into_iter()
                .flatten()
                .chain([syntax.comment(&v)])
            {
                assert!(
                    !text.chars().any(templates::is_line_hazard),
                    "{}: {v:?} written as {text:?}",
                    syntax.name()
                );
            }
        }
    }
}

// ------------------------------------------------ issue 11, reproductions

/// Renders an example from a copy under `name` (a path relative to a fresh
/// directory, created as needed), the way a user would: `mqttforge render
/// NAME`. Returns the directory and the rendered files.
fn render_copy_as(example: &str, name: &str) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join(name);
    std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
    std::fs::copy(
        common::root().join(format!("site-examples/{example}.yaml")),
        &spec,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["render", name, "--out", "out", "--no-secrets"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "render {name:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = read_tree(&dir.path().join("out"));
    (dir, files)
}

fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_spec_path_cannot_add_a_command_to_backup_sh() {
    let (_d, hostile) = render_copy_as("edge-mosquitto", "site\nid >PWNED\n#.yaml");
    let (_e, benign) = render_copy_as("edge-mosquitto", "spec.yaml");
    for (path, text) in &hostile {
        assert!(
            !text
                .lines()
                .any(|l| l.trim_start().starts_with("id >PWNED")),
            "{path}:\n{text}"
        );
        assert_eq!(
            text.lines().count(),
            benign[path].lines().count(),
            "{path}:\n{text}"
        );
    }
    let script = &hostile["backup/backup.sh"];
    assert!(
        script.starts_with(
            "#!/usr/bin/env bash\n# generated by mqttforge from site\\nid >PWNED\\n#.yaml, do not edit\n"
        ),
        "{script}"
    );
    let (ok, out) = run(Command::new(tool("bash")).arg("-n").arg("-c").arg(script));
    assert!(ok, "{out}");
}

#[test]
fn a_spec_path_cannot_add_a_term_to_the_emqx_acl() {
    let (_d, hostile) = render_copy_as("emqx-cluster", "factory\n{allow, all}.\n%%.yaml");
    let (_e, benign) = render_copy_as("emqx-cluster", "spec.yaml");
    let terms = |text: &str| -> Vec<String> {
        erlang::parse(text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .iter()
            .map(|t| erlang::to_source(&t.term))
            .collect()
    };
    let acl = &hostile["emqx/acl.conf"];
    assert_eq!(terms(acl), terms(&benign["emqx/acl.conf"]), "{acl}");
    assert_ne!(terms(acl)[0], "{allow,all}");
}

#[test]
fn a_spec_path_cannot_end_a_c_comment() {
    // A directory `c*` and one named ` int pwned = 1; `: the path holds `*/`.
    let name = "c*/ double pwned = 1; /*/spec.yaml";
    let (dir, files) = render_copy_as("edge-mosquitto", name);
    let mut headers = 0;
    for (path, text) in files.iter().filter(|(p, _)| p.ends_with(".h")) {
        let header = dir.path().join("h.h");
        std::fs::write(&header, text).unwrap();
        // Were the comment ended, `pwned` would be a double and clash with this.
        let c = dir.path().join("t.c");
        std::fs::write(&c, "#include \"h.h\"\nstatic char pwned;\n").unwrap();
        let mut gcc = Command::new(tool("gcc"));
        gcc.args(["-fsyntax-only", "-std=c11", "-Wall", "-Werror"]);
        if path.contains("/role-") {
            gcc.arg("-DMQTT_DEVICE_ID=\"d1\"");
        }
        let (ok, out) = run(gcc.arg(&c));
        assert!(ok, "{path}:\n{out}\n{text}");
        headers += 1;
    }
    assert!(headers >= 2);
}

const TRIGRAPH_SPEC: &str = r#"site: t1
environment: development
engine: mosquitto
capacity: { clients: 100, msg_per_s: 10, max_payload: 1KiB }
nodes:
  - { name: n1, address: 127.0.0.1 }
listeners:
  - { name: devices, port: 8883, tls: { client_certs: required, identity: username } }
roles:
  sensor:
    - { write: "devices/{id}/a??/b" }
    - { write: "devices/{id}/x??/\"\"??/??/" }
    - { read: "devices/{id}/cmd??=??(??)/#" }
devices:
  - { id: dev-1, role: sensor, firmware: esp32 }
firmware:
  esp32: { platform: esp32, version: 1.0.0 }
"#;

/// `??/` is a trigraph for `\` in ISO C modes: a topic holding it turned a
/// firmware string into code. The header's strings must hold exactly the
/// topics, byte for byte, when compiled with trigraphs on.
#[test]
fn c_trigraphs_cannot_turn_a_topic_into_code() {
    let site = spec::load_source(SourceFile::new("t.yaml", TRIGRAPH_SPEC)).unwrap();
    let tree = render(
        &site,
        &RenderOptions::production("t.yaml", SecretMode::Skip),
    )
    .unwrap();
    let header =
        String::from_utf8(tree.files["firmware/esp32/device-dev-1.h"].contents.clone()).unwrap();
    let names: Vec<&str> = header
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.split_once(' ').map(|(n, _)| n))
        .filter(|n| n.starts_with("MQTT_TOPIC_") || n.starts_with("MQTT_SUBSCRIBE_"))
        .collect();
    assert_eq!(names.len(), 3, "{header}");
    let mut body = format!("{header}\n#include <stdio.h>\nint main(void) {{\n");
    for n in &names {
        body.push_str(&format!("    puts({n});\n"));
    }
    body.push_str("    return 0;\n}\n");
    let out = run_c(&body, &["-std=c11", "-trigraphs", "-Wno-trigraphs"]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "devices/dev-1/a??/b\ndevices/dev-1/x??/\"\"??/??/\ndevices/dev-1/cmd??=??(??)/#\n",
        "{header}"
    );
}

/// Two topics whose first level after `{id}` is the same became one macro,
/// the first silently lost: each now has its own name (validation refuses
/// the names that still collide, see tests/fixtures/invalid/).
#[test]
fn topics_sharing_a_first_level_get_distinct_firmware_macros() {
    let spec = TRIGRAPH_SPEC.replace(
        "    - { write: \"devices/{id}/a??/b\" }\n    - { write: \"devices/{id}/x??/\\\"\\\"??/??/\" }\n    - { read: \"devices/{id}/cmd??=??(??)/#\" }\n",
        "    - { write: \"devices/{id}/telemetry/temp\" }\n    - { write: \"devices/{id}/telemetry/hum\" }\n    - { readwrite: \"devices/{id}/telemetry/hum\" }\n",
    );
    assert_ne!(spec, TRIGRAPH_SPEC);
    let site = spec::load_source(SourceFile::new("t.yaml", spec.as_str())).unwrap();
    let tree = render(
        &site,
        &RenderOptions::production("t.yaml", SecretMode::Skip),
    )
    .unwrap();
    let header =
        String::from_utf8(tree.files["firmware/esp32/device-dev-1.h"].contents.clone()).unwrap();
    let defines: Vec<&str> = header
        .lines()
        .filter(|l| {
            l.starts_with("#define MQTT_TOPIC_") || l.starts_with("#define MQTT_SUBSCRIBE_")
        })
        .collect();
    assert_eq!(
        defines,
        [
            "#define MQTT_TOPIC_TELEMETRY_TEMP \"devices/\" MQTT_DEVICE_ID \"/telemetry/temp\"",
            "#define MQTT_TOPIC_TELEMETRY_HUM \"devices/\" MQTT_DEVICE_ID \"/telemetry/hum\"",
            "#define MQTT_SUBSCRIBE_TELEMETRY_HUM \"devices/\" MQTT_DEVICE_ID \"/telemetry/hum\"",
        ],
        "{header}"
    );
}

#[test]
fn an_inline_secret_is_never_echoed() {
    let canary = "CANARY-d41d8cd98f00b204";
    let spec = format!(
        "{}users:\n  - {{ name: u1, role: admin, password: {{ value: \"{}\" }} }}\n",
        TRIGRAPH_SPEC.split("roles:").next().unwrap(),
        canary.repeat(200)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), spec).unwrap();
    let run_validate = |format: &str| {
        Command::new(env!("CARGO_BIN_EXE_mqttforge"))
            .args(["validate", "s.yaml", "--format", format])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let json = run_validate("json");
    assert_eq!(json.status.code(), Some(1));
    let json_text = String::from_utf8_lossy(&json.stdout);
    assert!(json_text.contains("longer than 4096"), "{json_text}");
    assert!(!json_text.contains(canary), "{json_text}");
    let text = run_validate("text");
    let out = String::from_utf8_lossy(&text.stdout);
    let message = out.lines().find(|l| l.starts_with("error[")).unwrap();
    assert!(message.contains("secret of 4600 characters"), "{message}");
    assert!(!message.contains(canary), "{message}");
}

// ------------------------------------------------------ the property test

/// Hostile fragments: line breaks of every kind, quotes, comment and
/// placeholder openers of every output syntax, and long runs.
const ATOMS: &[&str] = &[
    "\n",
    "\r",
    "\0",
    "\r\n",
    "\t",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{7f}",
    "\u{1b}",
    "\u{feff}",
    "\"",
    "'",
    "`",
    "\\",
    "#",
    "%",
    "%c",
    "%u",
    "*/",
    "/*",
    "??/",
    "??=",
    "${",
    "$(",
    "{",
    "}",
    "[",
    "]",
    "=",
    ":",
    ";",
    ",",
    " ",
    "}.",
    "{allow, all}.",
    "\nid >PWNED\n#",
    "\n{allow, all}.\n%%",
    "\"}.\n",
    "é",
    "漢",
    "🙂",
];

/// One atom of each class, for the sweep over every field (the random
/// cases draw from all of [`ATOMS`]).
const SWEEP: &[&str] = &[
    "\n",
    "\r",
    "\0",
    "\u{2028}",
    "\u{85}",
    "\"",
    "'",
    "\\",
    "#",
    "*/",
    "??/",
    "%c",
    "${",
    "\n{allow, all}.\n%%",
];

struct Example {
    name: String,
    json: Value,
    /// The spec as pretty JSON (valid YAML), one value per line.
    text: String,
}

fn examples() -> &'static [Example] {
    static EXAMPLES: std::sync::OnceLock<Vec<Example>> = std::sync::OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let mut names: Vec<String> = std::fs::read_dir(common::root().join("site-examples"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let path = common::root().join(format!("site-examples/{name}.yaml"));
                let file = yaml::read_spec(&path).unwrap();
                let json = yaml::load_yaml(&file).unwrap().json;
                let text = serde_json::to_string_pretty(&json).unwrap();
                Example { name, json, text }
            })
            .collect()
    })
}

/// One string of an example: a value, or a key of a map whose keys are
/// names (roles, firmware profiles, lint suppressions).
#[derive(Clone, Debug)]
struct Field {
    example: usize,
    pointer: String,
    key: bool,
}

fn fields() -> &'static [Field] {
    static FIELDS: std::sync::OnceLock<Vec<Field>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        fn walk(example: usize, v: &Value, ptr: &str, out: &mut Vec<Field>) {
            match v {
                Value::Object(map) => {
                    let named = ["/roles", "/firmware", "/lint/ignore"].contains(&ptr);
                    for (k, child) in map {
                        let child_ptr = source::pointer_join(ptr, k);
                        if named {
                            out.push(Field {
                                example,
                                pointer: child_ptr.clone(),
                                key: true,
                            });
                        }
                        walk(example, child, &child_ptr, out);
                    }
                }
                Value::Array(items) => {
                    for (i, child) in items.iter().enumerate() {
                        walk(example, child, &source::pointer_join(ptr, i), out);
                    }
                }
                Value::String(_) => out.push(Field {
                    example,
                    pointer: ptr.to_string(),
                    key: false,
                }),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (i, e) in examples().iter().enumerate() {
            walk(i, &e.json, "", &mut out);
        }
        out
    })
}

fn original(field: &Field) -> String {
    let json = &examples()[field.example].json;
    if field.key {
        let (_, key) = field.pointer.rsplit_once('/').unwrap();
        key.replace("~1", "/").replace("~0", "~")
    } else {
        json.pointer(&field.pointer)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The example with the field's value (or key) replaced, as spec text.
fn substitute(field: &Field, value: &str) -> String {
    let mut json = examples()[field.example].json.clone();
    if field.key {
        let (parent, old) = field.pointer.rsplit_once('/').unwrap();
        let old = old.replace("~1", "/").replace("~0", "~");
        let map = json.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        let renamed: serde_json::Map<String, Value> = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| {
                if k == old {
                    (value.to_string(), v)
                } else {
                    (k, v)
                }
            })
            .collect();
        *map = renamed;
        // References follow the rename, so only the name itself is judged.
        let refs: &[&str] = match parent {
            "/roles" => &["users", "devices"],
            "/firmware" => &["devices"],
            _ => &[],
        };
        let field_name = if parent == "/roles" {
            "role"
        } else {
            "firmware"
        };
        for list in refs {
            let items = json.get_mut(*list).and_then(Value::as_array_mut);
            for item in items.into_iter().flatten() {
                if item[field_name].as_str() == Some(old.as_str()) {
                    item[field_name] = Value::String(value.to_string());
                }
            }
        }
    } else {
        *json.pointer_mut(&field.pointer).unwrap() = Value::String(value.to_string());
    }
    serde_json::to_string_pretty(&json).unwrap()
}

/// The line the field sits on (the same in every substituted text: JSON
/// escapes line breaks, so a value never spans lines).
fn field_line(field: &Field) -> usize {
    let e = &examples()[field.example];
    let doc = yaml::load_yaml(&SourceFile::new("spec.yaml", e.text.as_str())).unwrap();
    let at = doc.spans.get(&field.pointer).unwrap();
    match (&at.key, field.key) {
        (Some(k), true) => k.line,
        _ => at.value.line,
    }
}

/// The value with every character that could mean something in some
/// syntax replaced by a letter: what the hostile value is compared with.
fn benign(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "/{}+#.-_".contains(c) {
                c
            } else {
                'x'
            }
        })
        .collect()
}

/// Every file of a site, the bundled broker's configuration included.
fn render_site(site: &spec::Site, spec_name: &str) -> Result<BTreeMap<String, String>, String> {
    let opts = RenderOptions::production(spec_name, SecretMode::Skip);
    let tree = render(site, &opts).map_err(|d| format!("render refused it: {d:?}"))?;
    let bundled = render_bundled(site, &opts).map_err(|d| format!("render refused it: {d:?}"))?;
    let mut out = BTreeMap::new();
    for (prefix, tree) in [("", tree), ("bundled/", bundled)] {
        for (path, file) in tree.files {
            let text = String::from_utf8(file.contents).map_err(|e| format!("{path}: {e}"))?;
            out.insert(format!("{prefix}{path}"), text);
        }
    }
    Ok(out)
}

/// The structure of a rendered file, read with its own parser: what must not
/// change when a value does. Values themselves are left out.
fn skeleton(path: &str, text: &str) -> Result<Vec<String>, String> {
    if let Some(c) = text
        .chars()
        .find(|&c| c != '\n' && templates::is_line_hazard(c))
    {
        return Err(format!("{path} holds {}", templates::describe_char(c)));
    }
    let mut out = vec![format!("{} lines", text.lines().count())];
    let base = path.rsplit('/').next().unwrap_or(path);
    if base == "mosquitto.conf" {
        let lines = mosquitto_conf::parse(text).map_err(|e| format!("{e:?}"))?;
        out.extend(lines.into_iter().map(|l| l.name));
    } else if path.ends_with("mosquitto/acl") {
        let acl =
            mosquitto_acl::parse(&SourceFile::new(path, text)).map_err(|e| format!("{e:?}"))?;
        out.extend(
            acl.entries
                .iter()
                .map(|e| format!("{:?} {:?}", e.owner, e.access)),
        );
        out.push(format!("{} users", acl.users.len()));
    } else if base == "emqx.conf" {
        let root = hocon::parse(text).map_err(|e| e.to_string())?;
        out.extend(hocon::flatten(&root).into_iter().map(|(k, _, _)| k));
    } else if base == "acl.conf" {
        let terms = erlang::parse(text).map_err(|e| e.to_string())?;
        out.extend(terms.iter().map(|t| term_shape(&t.term)));
    } else if base.ends_with(".toml") {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        out.push(toml_shape(&toml::Value::Table(table)));
    } else if base == "haproxy.cfg" {
        let cfg = haproxy::parse(text).map_err(|e| format!("{e:?}"))?;
        for s in &cfg.sections {
            out.push(format!("{} {}", s.keyword, s.name));
            out.extend(s.lines.iter().map(|l| format!("  {} words", l.words.len())));
        }
    } else if base.ends_with(".json") {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("{path}: {e}"))?;
        out.push(json_shape(&doc));
    } else if base == "keepalived.conf" {
        // keepalived splits lines on blanks; `#` and `!` start comments.
        out.extend(text.lines().filter_map(|l| {
            let code = l.split(['#', '!']).next().unwrap_or("");
            let words: Vec<&str> = code.split_whitespace().collect();
            (!words.is_empty()).then(|| format!("{} {} words", words[0], words.len()))
        }));
    } else if base == "nginx.conf" {
        out.extend(nginx_shape(text)?);
    } else if base == "config.alloy" {
        // Grafana Alloy: the blocks, their labels and attribute names.
        fn walk(b: &common::alloy::Block, out: &mut Vec<String>) {
            out.push(format!("{} {:?}", b.name, b.label));
            out.extend(b.attrs.iter().map(|(n, _)| n.clone()));
            for inner in &b.blocks {
                walk(inner, out);
            }
        }
        walk(&common::alloy::parse(text)?, &mut out);
    } else if base == "rsyslog.conf" {
        // RainerScript: `#` comments; each statement's first word and its
        // parameters (`name=`) are the structure.
        out.extend(text.lines().filter_map(|l| {
            let code = l.trim();
            (!code.is_empty() && !code.starts_with('#'))
                .then(|| code.split(['=', '(', ' ']).next().unwrap_or("").to_string())
        }));
    } else if base.ends_with(".yml") || base.ends_with(".yaml") {
        let doc = yaml::load_yaml(&SourceFile::new(path, text)).map_err(|e| format!("{e:?}"))?;
        out.push(json_shape(&doc.json));
    } else if base.ends_with(".h") {
        // Topic macros are named after the topic: only their family counts.
        out.extend(text.lines().filter(|l| l.starts_with('#')).map(|l| {
            let directive: Vec<&str> = l.split(' ').take(2).collect();
            match directive[..] {
                ["#define", name] if name.starts_with("MQTT_TOPIC_") => {
                    "#define MQTT_TOPIC_*".into()
                }
                ["#define", name] if name.starts_with("MQTT_SUBSCRIBE_") => {
                    "#define MQTT_SUBSCRIBE_*".into()
                }
                _ => directive.join(" "),
            }
        }));
    } else if base.ends_with(".md") {
        let mut in_fence = false;
        out.extend(text.lines().map(|line| {
            let shape = markdown_shape(line, in_fence);
            in_fence ^= line.starts_with("```");
            shape
        }));
    } else if base.ends_with(".sh") {
        let comments = text
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count();
        out.push(format!("{comments} comment lines"));
    } else {
        let kind = audit::detect(Path::new(path), text).ok_or(format!("{path}: unknown kind"))?;
        (kind.extract)(&input(path, text), &mut facts()).map_err(|d| format!("{d:?}"))?;
    }
    Ok(out)
}

/// nginx.conf read as nginx's tokenizer reads it: words (quoted strings
/// with backslash escapes as one word), `#` comments to the end of the
/// line, directives ended by `;`, blocks by `{` `}`. The shape is every
/// directive's name and word count, and the blocks.
fn nginx_shape(text: &str) -> Result<Vec<String>, String> {
    Ok(nginx_directives(text)?
        .into_iter()
        .map(|(end, words)| {
            let name = words.first().cloned().unwrap_or_default();
            format!("{end} {name} {} words", words.len())
        })
        .collect())
}

/// nginx.conf's directives: each with the character that ends it (`;`,
/// `{`, `}`) and its words, unquoted.
fn nginx_directives(text: &str) -> Result<Vec<(char, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    let end_word = |word: &mut Option<String>, words: &mut Vec<String>| {
        if let Some(w) = word.take() {
            words.push(w);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '#' if word.is_none() => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' if word.is_none() => {
                let mut w = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated quoted string".into()),
                        Some('\\') => w.extend(chars.next()),
                        Some(q) if q == c => break,
                        Some(other) => w.push(other),
                    }
                }
                words.push(w);
            }
            ';' | '{' | '}' => {
                end_word(&mut word, &mut words);
                out.push((c, std::mem::take(&mut words)));
            }
            c if c.is_whitespace() => end_word(&mut word, &mut words),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    end_word(&mut word, &mut words);
    if !words.is_empty() {
        return Err(format!("directive {words:?} not ended by `;`"));
    }
    Ok(out)
}

/// A Markdown line's block kind, the cells it has if it is a table row (a
/// GitHub table splits on `|` not taken by a backslash), and the backtick
/// runs left unclosed (a value that broke out of its code span). Inside a
/// fence a line is literal: only a fence line counts. Whether a value is
/// shown as a code span or as escaped text (the renderer writes values
/// holding `|` as text, see `markdown_code`) is not structure.
fn markdown_shape(line: &str, in_fence: bool) -> String {
    if in_fence && !line.starts_with("```") {
        return "fenced line".into();
    }
    let hashes = line.chars().take_while(|c| *c == '#').count();
    let trimmed = line.trim_start();
    let digits = trimmed.chars().take_while(|c| c.is_ascii_digit()).count();
    let kind = if line.is_empty() {
        "blank".to_string()
    } else if line.starts_with("```") {
        "fence".into()
    } else if line.starts_with("<!--") {
        return format!("comment closed {} times", line.matches("-->").count());
    } else if hashes > 0 {
        format!("h{hashes}")
    } else if line.starts_with('|') {
        "row".into()
    } else if trimmed.starts_with("- ") {
        format!("item at {}", line.len() - trimmed.len())
    } else if digits > 0 && trimmed[digits..].starts_with(". ") {
        "ordered item".into()
    } else if matches!(
        trimmed.chars().next(),
        Some('>' | '=' | '+' | '*' | '<' | '-' | '_')
    ) {
        format!("block {:?}", trimmed.chars().next())
    } else {
        "text".into()
    };
    let bytes = line.as_bytes();
    let (mut pipes, mut i) = (0, 0);
    while kind == "row" && i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'|' => {
                pipes += 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    let (mut unclosed, mut i) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => {
                let start = i;
                while i < bytes.len() && bytes[i] == b'`' {
                    i += 1;
                }
                let len = i - start;
                let mut j = i;
                let mut closed = false;
                while j < bytes.len() {
                    if bytes[j] != b'`' {
                        j += 1;
                        continue;
                    }
                    let run = j;
                    while j < bytes.len() && bytes[j] == b'`' {
                        j += 1;
                    }
                    if j - run == len {
                        closed = true;
                        i = j;
                        break;
                    }
                }
                if !closed {
                    unclosed += 1;
                }
            }
            _ => i += 1,
        }
    }
    format!("{kind}, {pipes} cells, {unclosed} unclosed backtick runs")
}

fn term_shape(t: &erlang::Term) -> String {
    match t {
        erlang::Term::Tuple(items) | erlang::Term::List(items) => {
            let inner: Vec<String> = items.iter().map(|i| term_shape(&i.term)).collect();
            let (open, close) = if matches!(t, erlang::Term::Tuple(_)) {
                ("{", "}")
            } else {
                ("[", "]")
            };
            format!("{open}{}{close}", inner.join(","))
        }
        erlang::Term::Atom(a) => a.clone(),
        _ => "_".into(),
    }
}

fn toml_shape(v: &toml::Value) -> String {
    match v {
        toml::Value::Table(t) => {
            let inner: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k}={}", toml_shape(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        toml::Value::Array(a) => format!("[{}]", a.len()),
        _ => "_".into(),
    }
}

fn json_shape(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", json_shape(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(json_shape).collect::<Vec<_>>().join(",")
        ),
        _ => "_".into(),
    }
}

/// Every file of `hostile` has the structure of the same file of `benign`
/// (same paths, same skeletons), and parses.
fn same_structure(
    hostile: &BTreeMap<String, String>,
    benign: Option<&BTreeMap<String, String>>,
) -> Result<(), String> {
    for (path, text) in hostile {
        let shape = skeleton(path, text).map_err(|e| format!("{path}: {e}\n{text}"))?;
        let Some(benign) = benign else { continue };
        let other = benign
            .get(path)
            .ok_or_else(|| format!("{path} is not rendered with a benign value"))?;
        let expected = skeleton(path, other).map_err(|e| format!("benign {path}: {e}"))?;
        if shape != expected {
            return Err(format!(
                "{path} changed structure:\n{shape:?}\n  with a benign value:\n{expected:?}\n{text}"
            ));
        }
    }
    match benign {
        Some(b) if b.len() != hostile.len() => Err(format!(
            "{} files with the hostile value, {} with a benign one",
            hostile.len(),
            b.len()
        )),
        _ => Ok(()),
    }
}

fn load_text(text: &str) -> Result<spec::Site, Vec<mqttforge::diag::Diagnostic>> {
    spec::load_source(SourceFile::new("spec.yaml", text))
}

/// The property: a hostile value in a field is refused at its line, or the
/// site renders with every file's structure intact.
fn check_field(field: &Field, value: &str) -> Result<(), String> {
    let text = substitute(field, value);
    match load_text(&text) {
        Err(diags) => {
            let line = field_line(field);
            if let Some(d) = diags.iter().find(|d| d.code == "internal") {
                return Err(format!("internal error: {d:?}"));
            }
            let here = diags
                .iter()
                .any(|d| d.primary_span().is_some_and(|s| s.line == line));
            if here || renamed_away(field, value, &diags) {
                Ok(())
            } else {
                Err(format!("refused, but not at line {line}: {diags:#?}"))
            }
        }
        Ok(site) => {
            let hostile = render_site(&site, "spec.yaml")?;
            let benign_site = load_text(&substitute(field, &benign(value))).ok();
            let benign = match &benign_site {
                Some(s) => Some(render_site(s, "spec.yaml")?),
                None => None,
            };
            same_structure(&hostile, benign.as_ref())
        }
    }
}

/// A value that is itself acceptable but renames a name the spec refers to
/// elsewhere (`health` → `ahealth`) is refused where the reference now
/// dangles, naming the old name; one that collides with another name is
/// refused as a duplicate naming it. Both are refusals of this value.
fn renamed_away(field: &Field, value: &str, diags: &[mqttforge::diag::Diagnostic]) -> bool {
    let old = format!("`{}`", original(field));
    let new = format!("`{value}`");
    !diags.is_empty()
        && diags.iter().all(|d| {
            (d.code == "unknown-reference" && d.message.contains(&old))
                || (d.code == "duplicate-name" && d.message.contains(&new))
        })
}

/// The spec's own path, in every header: every file keeps the structure it
/// has under a plain name.
fn check_spec_path(example: usize, name: &str) -> Result<(), String> {
    let site = load_text(&examples()[example].text).unwrap();
    let hostile = render_site(&site, name)?;
    let benign = render_site(&site, "spec.yaml")?;
    same_structure(&hostile, Some(&benign))
}

fn fail_on_error(r: Result<(), String>, what: &str) {
    if let Err(e) = r {
        panic!("{what}: {e}");
    }
}

/// Every field, one atom of each class in the middle of its value: a sweep
/// that makes sure no field is left out, whatever the random cases pick.
#[test]
fn every_field_refuses_or_keeps_the_structure_with_every_atom() {
    let fields = fields();
    assert!(fields.len() > 150, "only {} string fields", fields.len());
    for field in fields {
        let orig = original(field);
        let middle = orig
            .char_indices()
            .nth(orig.chars().count() / 2)
            .map_or(orig.len(), |(i, _)| i);
        for atom in SWEEP.iter().copied().chain([&"A".repeat(5000) as &str]) {
            let value = format!("{}{atom}{}", &orig[..middle], &orig[middle..]);
            fail_on_error(
                check_field(field, &value),
                &format!(
                    "{} {} = {value:?}",
                    examples()[field.example].name,
                    field.pointer
                ),
            );
        }
    }
}

/// Found by the property test: `health` → `ahealth` is a good name, refused
/// where the load balancer's health check still names `health`.
#[test]
fn renaming_a_referenced_name_is_refused_at_the_reference() {
    let field = fields()
        .iter()
        .find(|f| {
            examples()[f.example].name == "mosquitto-ha"
                && f.pointer.starts_with("/listeners/")
                && f.pointer.ends_with("/name")
                && original(f) == "health"
        })
        .expect("mosquitto-ha's health listener");
    fail_on_error(check_field(field, "ahealth"), "health -> ahealth");
    let diags = load_text(&substitute(field, "ahealth")).unwrap_err();
    assert!(renamed_away(field, "ahealth", &diags));
    // A dangling reference to another name is not this value's doing.
    let other = mqttforge::diag::Diagnostic::error(
        mqttforge::diag::Code::UnknownReference,
        "listener `other` does not exist",
    );
    assert!(!renamed_away(field, "ahealth", &[other]));
    assert!(!renamed_away(field, "ahealth", &[]));
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(ATOMS).prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z0-9./_-]{1,4}",
    ]
}

fn hostile_insert() -> impl Strategy<Value = (Vec<String>, proptest::sample::Index)> {
    (
        proptest::collection::vec(fragment(), 1..5),
        any::<proptest::sample::Index>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn hostile_values_are_refused_at_their_position_or_keep_every_file_whole(
        field in proptest::sample::select(fields()),
        (fragments, at) in hostile_insert(),
    ) {
        let orig = original(&field);
        let bounds: Vec<usize> = orig.char_indices().map(|(i, _)| i).chain([orig.len()]).collect();
        let cut = bounds[at.index(bounds.len())];
        let value = format!("{}{}{}", &orig[..cut], fragments.concat(), &orig[cut..]);
        let result = check_field(&field, &value);
        prop_assert!(result.is_ok(), "{} {} = {:?}: {}", examples()[field.example].name, field.pointer, value, result.unwrap_err());
    }

    #[test]
    fn a_hostile_spec_path_keeps_every_file_whole(
        example in 0..examples().len(),
        fragments in proptest::collection::vec(fragment(), 1..6),
    ) {
        let name = format!("sites/{}.yaml", fragments.concat());
        let result = check_spec_path(example, &name);
        prop_assert!(result.is_ok(), "{} as {:?}: {}", examples()[example].name, name, result.unwrap_err());
    }
}

/// A sample through the real checkers: each example with a hostile spec
/// path and a hostile topic (both accepted: they hold nothing validation
/// refuses), every script through `bash -n`, every header through gcc with
/// every macro used, the rules through `promtool check rules` and the load
/// balancer through `haproxy -c`.
#[test]
fn real_checkers_accept_a_sample_of_hostile_renders() {
    let hostile_path = "sites/\"'`$(id)*/??/#%\\\n{allow, all}.\n%%\u{2028};.yaml";
    let hostile_topic = "\"'$(id)*/??/\\%d`";
    let mut checked = BTreeMap::<&str, usize>::new();
    for (i, e) in examples().iter().enumerate() {
        let topic = fields()
            .iter()
            .find(|f| {
                f.example == i
                    && !f.key
                    && f.pointer.starts_with("/roles/")
                    && original(f).contains("{id}/")
            })
            .expect("a topic with {id}");
        let value = original(topic).replacen("{id}/", &format!("{{id}}/{hostile_topic}/"), 1);
        let site = load_text(&substitute(topic, &value))
            .unwrap_or_else(|d| panic!("{} {} = {value:?} refused: {d:?}", e.name, topic.pointer));
        let files = render_site(&site, hostile_path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in &files {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
            let what = format!("{}/{path}", e.name);
            let (kind, (ok, out)) = if path.ends_with(".sh") {
                (
                    "bash -n",
                    run(Command::new(tool("bash")).arg("-n").arg(&file)),
                )
            } else if path.ends_with(".h") {
                ("gcc", compile_header(&file, text, path.contains("/role-")))
            } else if path.ends_with("mqttforge.rules.yml") {
                (
                    "promtool",
                    run(Command::new(tool("promtool"))
                        .args(["check", "rules"])
                        .arg(&file)),
                )
            } else if path.ends_with("haproxy.cfg") {
                let mut cmd = Command::new(tool("haproxy"));
                cmd.arg("-c")
                    .arg("-f")
                    .arg(&file)
                    .env("HAPROXY_STATS_PASSWORD", "pw");
                ("haproxy", run(&mut cmd))
            } else {
                continue;
            };
            assert!(ok, "{kind} refuses {what}:\n{out}\n{text}");
            *checked.entry(kind).or_default() += 1;
        }
    }
    for kind in ["bash -n", "gcc", "promtool", "haproxy"] {
        assert!(
            checked.get(kind).copied().unwrap_or(0) >= 2,
            "{kind}: {checked:?}"
        );
    }
}

/// gcc on a header with every macro used (a malformed one fails), with
/// trigraphs on.
fn compile_header(header: &Path, text: &str, fleet: bool) -> (bool, String) {
    let mut body = format!("#include <stddef.h>\n#include \"{}\"\n", header.display());
    for line in text.lines() {
        let Some((name, value)) = line
            .strip_prefix("#define ")
            .and_then(|r| r.split_once(' '))
        else {
            continue;
        };
        if value.starts_with('"') || value.contains("MQTT_DEVICE_ID") {
            body.push_str(&format!("const char *use_{name} = {name};\n"));
        } else if !name.starts_with("MQTTFORGE_") {
            body.push_str(&format!("const unsigned long use_{name} = {name};\n"));
        }
    }
    let c = header.with_extension("c");
    std::fs::write(&c, body).unwrap();
    let mut cmd = Command::new(tool("gcc"));
    cmd.args([
        "-fsyntax-only",
        "-std=c11",
        "-trigraphs",
        "-Wall",
        "-Wextra",
        "-Werror",
    ])
    .arg(&c);
    if fleet {
        cmd.arg("-DMQTT_DEVICE_ID=\"sensor-0001\"");
    }
    run(&mut cmd)
}

/// Any diagnostic that prints the source line of an inline secret shows it
/// masked, in text output (JSON and SARIF print no source lines).
#[test]
fn an_inline_secret_is_masked_in_every_snippet() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("site.yaml");
    std::fs::write(
        &spec,
        "site: x\nenvironment: production\nengine: mosquitto\ncapacity: { clients: 10, msg_per_s: 10, max_payload: 1KiB }\nnodes: [ { name: n1, address: 10.0.0.1 } ]\nlisteners: [ { name: l, port: 1883, bind: 127.0.0.1 } ]\nusers: [ { name: admin, role: admin, password: { value: \"hunter2-canary\" } } ]\n",
    )
    .unwrap();
    for format in ["text", "json", "sarif"] {
        let out = common::mqttforge(&["lint", &spec.display().to_string(), "--format", format]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("MQ-AUTH-002"), "{format}: {text}");
        assert!(
            !text.contains("hunter2-canary"),
            "{format} echoes the secret:\n{text}"
        );
    }
}
