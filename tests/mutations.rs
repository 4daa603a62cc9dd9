//! Changing any number in an example to an out-of-range value makes the spec
//! invalid, with a diagnostic at that value's file:line:col.
//!
//! "Numbers" are integers and the digit runs of values such as `4KiB`,
//! `10.0.1.10`, `"1.3"`, `1.4.2` or `http://host:2379`; names (node names,
//! device ids, fleet prefixes, CA subjects) and free text are not numbers.

mod common;

use mqttforge::formats::yaml::load_yaml;
use mqttforge::source::SourceFile;
use mqttforge::spec::load_source;

const HUGE: &str = "99999999999";

/// Pointers whose values are names or free text, not quantities.
fn is_name(pointer: &str) -> bool {
    let last = pointer.rsplit('/').next().unwrap_or("");
    pointer == "/site"
        || pointer.starts_with("/lint/")
        || pointer.contains("/dns_names/")
        || matches!(
            last,
            "name"
                | "id"
                | "prefix"
                | "user"
                | "cn"
                | "org"
                | "device_org"
                | "dashboards"
                | "target"
                | "env"
                | "file"
        )
}

/// Start columns (0-based char index) of standalone digit runs in a scalar's text.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut runs = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            && (i == 0 || !word(chars[i - 1]) || chars[i - 1].is_ascii_digit())
        {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let bounded_after =
                i == chars.len() || !chars[i].is_ascii_alphabetic() || is_unit(&chars[i..]);
            if (start == 0 || !word(chars[start - 1])) && bounded_after {
                runs.push((start, i));
            }
        } else {
            i += 1;
        }
    }
    runs
}

fn is_unit(rest: &[char]) -> bool {
    let s: String = rest.iter().collect();
    [
        "ms", "s", "m", "h", "d", "w", "B", "KB", "KiB", "MB", "MiB", "GB", "GiB", "%",
    ]
    .iter()
    .any(|u| {
        s.starts_with(u)
            && s[u.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

#[test]
fn every_number_in_every_example_is_range_checked() {
    let dir = common::root().join("site-examples");
    let mut total = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = format!(
            "site-examples/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = load_yaml(&SourceFile::new(name.clone(), text.clone()))
            .expect("examples are valid YAML");
        let lines: Vec<&str> = text.lines().collect();
        let mut targets = Vec::new();
        for (pointer, located) in doc.spans.iter() {
            let value = doc.json.pointer(pointer).unwrap();
            if !(value.is_number() || value.is_string()) || is_name(pointer) {
                continue;
            }
            let span = &located.value;
            let line: Vec<char> = lines[span.line - 1].chars().collect();
            let mut start = span.col - 1;
            let quoted = matches!(line.get(start), Some('"') | Some('\''));
            if quoted {
                start += 1;
            }
            let scalar = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            for (a, b) in digit_runs(&scalar) {
                targets.push((
                    pointer.to_string(),
                    span.line,
                    span.col,
                    start + a,
                    start + b,
                ));
            }
        }
        targets.sort();
        for (pointer, line_no, col, a, b) in targets {
            let mut mutated_lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let chars: Vec<char> = mutated_lines[line_no - 1].chars().collect();
            let replaced: String = chars[..a].iter().collect::<String>()
                + HUGE
                + &chars[b..].iter().collect::<String>();
            mutated_lines[line_no - 1] = replaced;
            let mutated = mutated_lines.join("\n") + "\n";
            total += 1;
            match load_source(SourceFile::new(name.clone(), mutated)) {
                Ok(_) => failures.push(format!(
                    "{name}:{line_no}:{col} ({pointer}): `{HUGE}` accepted"
                )),
                Err(diags) => {
                    let at_value = diags.iter().any(|d| {
                        d.primary_span().is_some_and(|s| {
                            s.file.name == name && s.line == line_no && s.col == col
                        })
                    });
                    if !at_value {
                        let got: Vec<String> = diags
                            .iter()
                            .map(|d| format!("{:?} {}", d.primary_span(), d.message))
                            .collect();
                        failures.push(format!("{name}:{line_no}:{col} ({pointer}): no diagnostic at the value; got {got:?}"));
                    }
                }
            }
        }
    }
    assert!(total > 100, "only {total} numbers found in the examples");
    assert!(
        failures.is_empty(),
        "{} of {total} mutations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn an_out_of_range_number_exits_1_through_the_binary() {
    let text =
        std::fs::read_to_string(common::root().join("site-examples/edge-mosquitto.yaml")).unwrap();
    let mutated = text.replace("port: 8883", "port: 99999");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edge.yaml");
    std::fs::write(&path, mutated).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .args(["validate", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = text.lines().position(|l| l.contains("port: 8883")).unwrap() + 1;
    let col = text.lines().nth(line - 1).unwrap().find("8883").unwrap() + 1;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{}:{line}:{col}", path.display())),
        "{stdout}"
    );
}

#[test]
fn digit_runs_find_numbers_not_names() {
    assert_eq!(digit_runs("4KiB"), vec![(0, 1)]);
    assert_eq!(
        digit_runs("10.0.1.10"),
        vec![(0, 2), (3, 4), (5, 6), (7, 9)]
    );
    assert_eq!(digit_runs("TLS_AES_256_GCM_SHA384"), vec![]);
    assert_eq!(digit_runs("http://etcd1:2379"), vec![(13, 17)]);
    assert_eq!(digit_runs("1000/s"), vec![(0, 4)]);
}
