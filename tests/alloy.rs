//! The Grafana Alloy configuration rendered for a Loki `monitoring.logs`
//! (logs/config.alloy). No Debian package has Alloy, so Alloy itself never
//! checks this file here: these tests check what can be checked without it,
//! with a reader of Alloy's syntax (tests/common/alloy.rs): balanced
//! brackets, every statement a block or an attribute, the three components
//! wired to each other, the file the rsyslog shipper reads for the same
//! engine, the push URL and the labels from the spec. Broken copies are
//! refused, so the checks are not vacuous.

mod common;

use common::alloy::{self, Block, Token};
use mqttforge::render::{render, OutputTree, RenderOptions, SecretMode};
use mqttforge::spec::{self, model::Url, Site};

fn load(example: &str) -> Site {
    spec::load(&common::root().join(format!("site-examples/{example}.yaml")))
        .expect("valid example")
}

fn render_with(example: &str, logs: Option<&str>) -> (Site, OutputTree) {
    let mut site = load(example);
    if let Some(url) = logs {
        let m = site.spec.monitoring.get_or_insert_with(Default::default);
        m.logs = Some(Url(url.to_string()));
    }
    let tree = render(
        &site,
        &RenderOptions::production(format!("site-examples/{example}.yaml"), SecretMode::Skip),
    )
    .expect("renders");
    (site, tree)
}

fn text(tree: &OutputTree, path: &str) -> Option<String> {
    tree.files
        .get(path)
        .map(|f| String::from_utf8(f.contents.clone()).unwrap())
}

fn s(v: &str) -> Token {
    Token::Str(v.into())
}

fn id(v: &str) -> Token {
    Token::Ident(v.into())
}

fn p(c: char) -> Token {
    Token::Punct(c)
}

/// `a.b.c` as tokens.
fn path(dotted: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (i, part) in dotted.split('.').enumerate() {
        if i > 0 {
            out.push(p('.'));
        }
        out.push(id(part));
    }
    out
}

fn one<'a>(root: &'a Block, name: &str) -> Result<&'a Block, String> {
    let found: Vec<&Block> = root.blocks.iter().filter(|b| b.name == name).collect();
    match found[..] {
        [b] if b.label.is_some() => Ok(b),
        _ => Err(format!("{} `{name}` blocks with a label", found.len())),
    }
}

/// What a site's config.alloy must hold.
struct Expect<'a> {
    log_file: &'a str,
    site: &'a str,
    engine: &'a str,
    push_url: &'a str,
}

fn check(conf: &str, want: &Expect<'_>) -> Result<(), String> {
    let root = alloy::parse(conf)?;
    if root.blocks.len() != 3 {
        return Err(format!("{} top-level blocks, not 3", root.blocks.len()));
    }
    let matcher = one(&root, "local.file_match")?;
    let source = one(&root, "loki.source.file")?;
    let write = one(&root, "loki.write")?;
    let label = |b: &Block| b.label.clone().unwrap();

    // local.file_match: one target, the broker's log and the labels.
    let targets = matcher.attr("path_targets").ok_or("no path_targets")?;
    let mut object = vec![p('['), p('{')];
    for (key, value) in [
        ("__path__", vec![s(want.log_file)]),
        ("site", vec![s(want.site)]),
        ("engine", vec![s(want.engine)]),
        ("instance", path("constants.hostname")),
    ] {
        object.extend([s(key), p('=')]);
        object.extend(value);
        object.push(p(','));
    }
    object.extend([p('}'), p(']')]);
    if targets != object.as_slice() {
        return Err(format!("path_targets = {targets:?}"));
    }

    // loki.source.file reads what local.file_match finds and forwards to
    // loki.write.
    let want_targets = path(&format!("local.file_match.{}.targets", label(matcher)));
    if source.attr("targets") != Some(want_targets.as_slice()) {
        return Err(format!("targets = {:?}", source.attr("targets")));
    }
    let mut forward = vec![p('[')];
    forward.extend(path(&format!("loki.write.{}.receiver", label(write))));
    forward.push(p(']'));
    if source.attr("forward_to") != Some(forward.as_slice()) {
        return Err(format!("forward_to = {:?}", source.attr("forward_to")));
    }

    // loki.write: one endpoint, Loki's push API.
    let endpoint = write
        .block("endpoint")
        .ok_or("loki.write has no endpoint")?;
    if write.blocks.len() != 1 || endpoint.attr("url") != Some(&[s(want.push_url)][..]) {
        return Err(format!("endpoint url = {:?}", endpoint.attr("url")));
    }
    Ok(())
}

/// The file the rsyslog shipper follows for the same site: the Alloy file
/// must read the same one.
fn rsyslog_file(example: &str) -> String {
    let (_, tree) = render_with(example, Some("syslog://logs.example:514"));
    let conf = text(&tree, "logs/rsyslog.conf").expect("rsyslog.conf");
    let line = conf
        .lines()
        .find_map(|l| l.trim().strip_prefix("File=\""))
        .expect("an imfile File=");
    line.trim_end_matches('"').to_string()
}

#[test]
fn the_alloy_config_holds_the_components_the_push_url_and_the_labels() {
    let mut checked = 0;
    for (example, url, push) in [
        (
            "emqx-cluster",
            None,
            "http://loki.lyon.acme.example:3100/loki/api/v1/push",
        ),
        (
            "mosquitto-ha",
            None,
            "http://loki.ber.acme.example:3100/loki/api/v1/push",
        ),
        (
            "nginx-vip",
            None,
            "http://loki.ham.acme.example:3100/loki/api/v1/push",
        ),
        (
            "dev-rumqttd",
            Some("lokis://[2001:db8::10]/tenant-a/"),
            "https://[2001:db8::10]:3100/tenant-a/loki/api/v1/push",
        ),
        (
            "edge-mosquitto",
            Some("loki://loki.plant.example:8080"),
            "http://loki.plant.example:8080/loki/api/v1/push",
        ),
    ] {
        let log_file = rsyslog_file(example);
        let (site, tree) = render_with(example, url);
        assert!(
            !tree.files.contains_key("logs/rsyslog.conf"),
            "{example}: rsyslog.conf beside config.alloy"
        );
        let conf = text(&tree, "logs/config.alloy").expect("logs/config.alloy rendered");
        let want = Expect {
            log_file: &log_file,
            site: site.name(),
            engine: site.spec.engine.as_str(),
            push_url: push,
        };
        check(&conf, &want).unwrap_or_else(|e| panic!("{example}: {e}\n{conf}"));
        assert!(
            conf.contains("NOT CHECKED BY ALLOY"),
            "{example}: the file must say it is unchecked\n{conf}"
        );

        // Broken on purpose: each copy must be refused.
        let broken = [
            conf.replacen("  }\n}", "  }\n", 1), // a brace missing
            conf.replacen("loki.write \"", "loki.writer \"", 1), // a component renamed
            conf.replacen("forward_to", "forward", 1), // an argument renamed
            conf.replacen("/loki/api/v1/push", "/push", 1), // the wrong URL
            conf.replacen("\"engine\"", "\"job\"", 1), // a label lost
            conf.replacen(&format!("\"{log_file}\""), "\"/var/log/syslog\"", 1),
            conf.replacen("= \"", "= \"\\q", 1), // an escape Alloy does not know
        ];
        for (i, b) in broken.iter().enumerate() {
            assert_ne!(b, &conf, "{example}: broken copy {i} is unchanged");
            assert!(
                check(b, &want).is_err(),
                "{example}: broken copy {i} accepted:\n{b}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn the_reader_takes_alloys_own_documented_example() {
    // local.file_match.md's "Send /tmp/logs/*.log files to Loki" (grafana/alloy
    // at 66ebea856dffb242f921775e9552a133f60dc5c1), with its placeholders
    // filled in.
    let doc = r#"local.file_match "tmp" {
  path_targets = [{"__path__" = "/tmp/logs/**/*.log", "__path_exclude__" = "/tmp/logs/excluded/*.log"}]
}

loki.source.file "files" {
  targets    = local.file_match.tmp.targets
  forward_to = [loki.write.endpoint.receiver]
}

loki.write "endpoint" {
  endpoint {
      url = "http://loki:3100/loki/api/v1/push"
      basic_auth {
          username = "u"
          password = "p"
      }
  }
}
"#;
    let root = alloy::parse(doc).expect("parses");
    assert_eq!(root.blocks.len(), 3);
    let write = one(&root, "loki.write").unwrap();
    let endpoint = write.block("endpoint").unwrap();
    assert_eq!(
        endpoint.attr("url"),
        Some(&[s("http://loki:3100/loki/api/v1/push")][..])
    );
    assert!(endpoint.block("basic_auth").is_some());
    for bad in [
        "a {",
        "a = \"x\"",
        "b \"l\" { x = [\"v\" }",
        "c \"l\" { y = \"open\n\" }",
    ] {
        assert!(alloy::parse(bad).is_err(), "{bad:?}");
    }
}
