//! The runbook names only what the site has: every host, path, port,
//! service and `mqttforge` command in each example's `RUNBOOK.md` is checked
//! against that example's rendered tree, install layout, spec and CLI; and
//! its RTO/RPO verdicts agree with the lint rules' findings, on the examples
//! and on variants of them whose objectives cannot be met.

mod common;

use std::collections::BTreeSet;

use clap::Parser;
use mqttforge::cli::Cli;
use mqttforge::diag::Diagnostic;
use mqttforge::render::{render, Layout, OutputTree, RenderOptions, SecretMode};
use mqttforge::source::SourceFile;
use mqttforge::spec::{self, Site};
use regex::Regex;

const EXAMPLES: &[&str] = &[
    "dev-rumqttd",
    "edge-mosquitto",
    "emqx-cluster",
    "mosquitto-ha",
];

fn spec_name(example: &str) -> String {
    format!("site-examples/{example}.yaml")
}

fn example_text(example: &str) -> String {
    std::fs::read_to_string(common::root().join(spec_name(example))).unwrap()
}

fn load(name: &str, text: &str) -> Site {
    spec::load_source(SourceFile::new(name, text)).unwrap_or_else(|d| panic!("{name}: {d:?}"))
}

fn rendered(site: &Site, name: &str) -> (OutputTree, String) {
    let tree = render(site, &RenderOptions::production(name, SecretMode::Skip)).unwrap();
    let runbook = String::from_utf8(tree.files["RUNBOOK.md"].contents.clone()).unwrap();
    (tree, runbook)
}

/// Code the runbook shows: the lines of its code blocks, and its code spans.
fn code(runbook: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_block = false;
    let span = Regex::new(r"(`+) ?([^`]+?) ?(`+)").unwrap();
    for line in runbook.lines() {
        let line = &line.replace("\\`", "");
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            out.push(line.to_string());
            continue;
        }
        for c in span.captures_iter(line) {
            if c[1].len() == c[3].len() {
                out.push(c[2].to_string());
            }
        }
    }
    out
}

/// Absolute paths every rendered file, the install layout and the spec
/// name: files (exact) and directories (a path under one is theirs).
fn known_paths(site: &Site, tree: &OutputTree) -> (BTreeSet<String>, Vec<String>) {
    let mut files: BTreeSet<String> = tree
        .files
        .values()
        .filter_map(|f| f.install.clone())
        .collect();
    let l = Layout::new(site.spec.engine, "", false);
    let el = l.engine_layout();
    files.extend([
        l.log_file(),
        l.pid_file(),
        l.haproxy_socket(),
        l.haproxy("haproxy.cfg"),
    ]);
    files.extend(
        site.spec
            .users
            .iter()
            .filter_map(|u| u.password.as_ref()?.file.clone()),
    );
    let dirs = vec![
        l.path(el.conf_dir),
        l.data_dir(),
        l.backup_staging(),
        l.secrets("").trim_end_matches('/').to_string(),
    ];
    files.extend(dirs.iter().cloned());
    (files, dirs)
}

fn check_paths(site: &Site, tree: &OutputTree, code: &[String], problems: &mut Vec<String>) {
    let (files, dirs) = known_paths(site, tree);
    let absolute = Regex::new(r#"(?:^|[\s'"=(])(/[A-Za-z0-9._/-]*)"#).unwrap();
    let relative = Regex::new(r"^[a-z][a-z0-9_.-]*/[A-Za-z0-9_./-]+$").unwrap();
    for c in code {
        for m in absolute.captures_iter(c) {
            let p = m[1].trim_end_matches('/');
            let ok = p.is_empty()
                || files.contains(p)
                || dirs.iter().any(|d| p.starts_with(&format!("{d}/")));
            if !ok && !c.contains("://") {
                problems.push(format!(
                    "path {p} (in `{c}`) is neither rendered nor in the layout"
                ));
            }
        }
        // A tree path (the files table): it must be in the rendered tree.
        let word = c.trim();
        if relative.is_match(word) && !word.ends_with(".yaml") && !tree.files.contains_key(word) {
            problems.push(format!("tree path {word} is not in the rendered tree"));
        }
    }
}

fn check_ports(site: &Site, runbook: &str, code: &[String], problems: &mut Vec<String>) {
    let mut ports: BTreeSet<u16> = site.spec.listeners.iter().map(|l| l.port).collect();
    if let Some(st) = site
        .spec
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.stats.as_ref())
    {
        ports.insert(st.port);
    }
    // The ports of the trace and log destinations the spec declares.
    for url in site
        .spec
        .monitoring
        .iter()
        .flat_map(|m| m.tracing.iter().chain(m.logs.iter()))
    {
        let authority = url.0.split("://").nth(1).unwrap_or("").split('/').next();
        if let Some(port) = authority
            .and_then(|a| a.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
        {
            ports.insert(port);
        }
    }
    let in_code = Regex::new(r"[0-9a-z\]]:([0-9]{2,5})\b").unwrap();
    let in_text = Regex::new(r"\bport ([0-9]+)").unwrap();
    let table_row = Regex::new(r"^\| [a-z][a-z0-9_-]* \| ([0-9]+) \|").unwrap();
    let found = code
        .iter()
        .flat_map(|c| {
            in_code
                .captures_iter(c)
                .map(|m| m[1].to_string())
                .collect::<Vec<_>>()
        })
        .chain(in_text.captures_iter(runbook).map(|m| m[1].to_string()))
        .chain(
            runbook
                .lines()
                .filter_map(|l| table_row.captures(l).map(|m| m[1].to_string())),
        );
    let mut seen = 0;
    for p in found {
        seen += 1;
        let port: u16 = p.parse().unwrap();
        if !ports.contains(&port) {
            problems.push(format!(
                "port {port} is not a listener (or stats) port of the spec"
            ));
        }
    }
    if seen == 0 {
        problems.push("the runbook names no port".into());
    }
}

fn check_hosts_and_services(site: &Site, code: &[String], problems: &mut Vec<String>) {
    let mut hosts: BTreeSet<String> = site.spec.nodes.iter().map(|n| n.name.0.clone()).collect();
    let nodes = hosts.clone();
    let mut services: BTreeSet<String> = [Layout::new(site.spec.engine, "", false)
        .engine_layout()
        .service
        .to_string()]
    .into();
    if site.spec.load_balancer.is_some() {
        hosts.insert("lb".into());
        services.insert("haproxy.service".into());
    }
    // The log shipper, when one is rendered.
    let logs = site
        .spec
        .monitoring
        .as_ref()
        .and_then(|m| m.logs.as_ref())
        .map(|u| u.0.as_str())
        .unwrap_or("");
    if logs.starts_with("syslog") {
        services.insert("rsyslog".into());
    }
    // Grafana Alloy (Grafana's package) for loki:// and lokis://.
    if logs.starts_with("loki://") || logs.starts_with("lokis://") {
        services.insert("alloy".into());
    }
    let ssh = Regex::new(r"\bssh ([^ ]+)").unwrap();
    let host = Regex::new(r"--host ([^ ]+)").unwrap();
    let node = Regex::new(r"--node ([^ ]+)").unwrap();
    let systemctl = Regex::new(r"systemctl [a-z-]+ ([^ ]+)").unwrap();
    let mut seen_ssh = 0;
    for c in code {
        for m in ssh.captures_iter(c).chain(host.captures_iter(c)) {
            seen_ssh += 1;
            if !hosts.contains(&m[1]) {
                problems.push(format!(
                    "host {} (in `{c}`) is not a node or the load balancer",
                    &m[1]
                ));
            }
        }
        for m in node.captures_iter(c) {
            if !nodes.contains(&m[1]) {
                problems.push(format!("node {} (in `{c}`) is not a node", &m[1]));
            }
        }
        for m in systemctl.captures_iter(c) {
            if !services.contains(&m[1]) {
                problems.push(format!("service {} (in `{c}`) is not the site's", &m[1]));
            }
        }
    }
    if seen_ssh == 0 {
        problems.push("the runbook names no host".into());
    }
}

fn check_commands(code: &[String], problems: &mut Vec<String>) -> usize {
    let mut n = 0;
    for c in code {
        let Some(rest) = c.trim().strip_prefix("mqttforge ") else {
            continue;
        };
        n += 1;
        let words = std::iter::once("mqttforge").chain(rest.split_whitespace());
        if let Err(e) = Cli::try_parse_from(words) {
            problems.push(format!("`{c}` does not parse: {}", e.kind()));
        }
    }
    n
}

#[test]
fn every_host_path_port_service_and_command_is_the_sites() {
    let mut problems = Vec::new();
    for example in EXAMPLES {
        let name = spec_name(example);
        let site = load(&name, &example_text(example));
        let (tree, runbook) = rendered(&site, &name);
        let code = code(&runbook);
        let mut p = Vec::new();
        check_paths(&site, &tree, &code, &mut p);
        check_ports(&site, &runbook, &code, &mut p);
        check_hosts_and_services(&site, &code, &mut p);
        if check_commands(&code, &mut p) < 5 {
            p.push("fewer than 5 mqttforge commands".into());
        }
        problems.extend(p.into_iter().map(|m| format!("{example}: {m}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_wrong_path_port_host_or_command_is_caught() {
    let name = spec_name("mosquitto-ha");
    let site = load(&name, &example_text("mosquitto-ha"));
    let (tree, runbook) = rendered(&site, &name);
    let tampered = runbook
        .replace("/etc/mosquitto/acl", "/etc/mosquito/acl")
        .replace("port 1884", "port 1885")
        .replace("ssh mqtt-b", "ssh mqtt-c")
        .replace("pki renew", "pki renwe");
    let code = code(&tampered);
    let mut p = Vec::new();
    check_paths(&site, &tree, &code, &mut p);
    check_ports(&site, &tampered, &code, &mut p);
    check_hosts_and_services(&site, &code, &mut p);
    check_commands(&code, &mut p);
    let all = p.join("\n");
    for needle in ["/etc/mosquito/acl", "port 1885", "host mqtt-c", "pki renwe"] {
        assert!(all.contains(needle), "{needle} not caught:\n{all}");
    }
}

/// (scenario title, RTO verdict, RPO verdict, the RTO's lint rule unless
/// the spec ignores it) per row.
fn verdicts(runbook: &str) -> Vec<(String, String, String, Option<String>)> {
    let row = Regex::new(r"^\| ([a-z ]+) \| [0-9a-z]+ \| \*\*([a-z ]+)\*\* \| (.*) \| [0-9a-z]+ \| \*\*([a-z ]+)\*\* \|").unwrap();
    let rule = Regex::new(r"\(lint: (MQ-[A-Z]+-[0-9]+)(, ignored by this spec)?").unwrap();
    runbook
        .lines()
        .filter_map(|l| row.captures(l))
        .map(|c| {
            (
                c[1].to_string(),
                c[2].to_string(),
                c[4].to_string(),
                rule.captures(&c[3])
                    .filter(|r| r.get(2).is_none())
                    .map(|r| r[1].to_string()),
            )
        })
        .collect()
}

fn lint(site: &Site, name: &str) -> Vec<Diagnostic> {
    mqttforge::lint::lint_site(site, name).unwrap()
}

/// The scenario key a runbook title stands for.
fn key(title: &str) -> &'static str {
    mqttforge::spec::recovery::SCENARIOS
        .iter()
        .find(|(_, t)| *t == title)
        .map(|(k, _)| *k)
        .unwrap_or_else(|| panic!("unknown scenario {title}"))
}

fn check_verdicts(label: &str, site: &Site, name: &str) -> usize {
    let (_, runbook) = rendered(site, name);
    let rows = verdicts(&runbook);
    let declared = site.spec.dr.as_ref().map_or(0, |dr| {
        mqttforge::spec::recovery::SCENARIOS
            .iter()
            .filter(|(k, _)| dr.objective(k).is_some())
            .count()
    });
    assert_eq!(
        rows.len(),
        declared,
        "{label}: one verdict row per objective\n{runbook}"
    );
    let diags = lint(site, name);
    let mut not_met = 0;
    for (title, _rto, rpo, rule) in &rows {
        let scenario = key(title);
        let finding = diags
            .iter()
            .any(|d| d.code == "MQ-DR-004" && d.message.contains(&format!("for `{scenario}`")));
        assert_eq!(
            rpo == "not met",
            finding,
            "{label}: the runbook says RPO {rpo} for {scenario}, MQ-DR-004 {}",
            if finding { "reports it" } else { "does not" }
        );
        not_met += usize::from(finding);
        if let Some(rule) = rule {
            assert!(
                diags.iter().any(|d| d.code.as_str() == rule),
                "{label}: the runbook cites {rule} for {scenario}'s RTO, but lint does not report it"
            );
        }
    }
    not_met
}

#[test]
fn rto_rpo_verdicts_equal_the_dr_rules_findings() {
    for example in EXAMPLES {
        let name = spec_name(example);
        check_verdicts(example, &load(&name, &example_text(example)), &name);
    }
    // Variants whose objectives cannot be met, one reason each.
    let variants = [
        (
            "mosquitto-ha",
            "single_node_failure: { rto: 1m, rpo: 30s }",
            "single_node_failure: { rto: 1m, rpo: 0 }",
        ),
        (
            "edge-mosquitto",
            "corruption: { rto: 15m, rpo: 1h }",
            "corruption: { rto: 15m, rpo: 10s }",
        ),
        (
            "emqx-cluster",
            "persistence: { enabled: true",
            "persistence: { enabled: false",
        ),
    ];
    for (example, from, to) in variants {
        let text = example_text(example);
        assert!(text.contains(from), "{example} has no `{from}`");
        let name = spec_name(example);
        let site = load(&name, &text.replace(from, to));
        let not_met = check_verdicts(&format!("{example} with `{to}`"), &site, &name);
        assert!(not_met > 0, "{example} with `{to}`: no objective fails");
    }
}

#[test]
fn the_runbook_command_prints_the_rendered_runbook() {
    let out = common::mqttforge(&["runbook", "site-examples/mosquitto-ha.yaml"]);
    assert!(out.status.success());
    let golden =
        std::fs::read_to_string(common::root().join("golden/mosquitto-ha/RUNBOOK.md")).unwrap();
    assert_eq!(common::stdout(&out), golden);
    let text = common::mqttforge(&[
        "runbook",
        "site-examples/mosquitto-ha.yaml",
        "--format",
        "text",
    ]);
    assert!(text.status.success());
    let text = common::stdout(&text);
    assert!(
        text.contains("Runbook: site warehouse-berlin\n=====") && !text.contains("```"),
        "{text}"
    );
}

/// The fenced block that follows `marker` in the README.
fn readme_block(readme: &str, marker: &str) -> String {
    let after = readme
        .split(marker)
        .nth(1)
        .unwrap_or_else(|| panic!("README has no {marker}"));
    let mut lines = after.lines().skip_while(|l| l.is_empty());
    let fence = lines.next().unwrap();
    let fence = fence.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    lines
        .take_while(|l| *l != fence)
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_readme_shows_generated_output() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let excerpt = readme_block(&readme, "<!-- runbook-excerpt -->");
    let golden =
        std::fs::read_to_string(common::root().join("golden/mosquitto-ha/RUNBOOK.md")).unwrap();
    assert!(excerpt.lines().count() > 20, "{excerpt}");
    assert!(
        golden.contains(&excerpt),
        "the README's runbook excerpt is not part of golden/mosquitto-ha/RUNBOOK.md: copy it again"
    );
    let shown = readme_block(&readme, "<!-- checklist-output -->");
    let out = common::mqttforge(&["checklist", "site-examples/mosquitto-ha.yaml"]);
    assert_eq!(
        shown,
        common::stdout(&out),
        "the README's checklist differs from the command's output"
    );
}

/// A suppression with an end date shows its date beside the reason in the
/// RTO verdict, as written: the runbook does not judge the date (the same
/// spec renders the same bytes every day; lint reports the expiry).
#[test]
fn an_ignored_rule_with_an_end_date_shows_the_date() {
    let name = spec_name("edge-mosquitto");
    let plain = example_text("edge-mosquitto");
    let reason = "\"edge site: a single broker by design; the line buffers to local storage during an outage\"";
    assert!(plain.contains(reason));
    let dated = plain.replace(
        &format!("MQ-HA-001: {reason}"),
        "MQ-HA-001: { reason: \"edge site until the second broker\", until: 2027-03-01 }",
    );
    let (_, runbook) = rendered(&load(&name, &dated), &name);
    assert!(
        runbook.contains(
            "(lint: MQ-HA-001, ignored by this spec: edge site until the second broker (until 2027-03-01))"
        ),
        "{runbook}"
    );
    let (_, runbook) = rendered(&load(&name, &plain), &name);
    assert!(!runbook.contains("(until "), "{runbook}");
}
