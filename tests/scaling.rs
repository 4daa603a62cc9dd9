//! Growth, not wall-clock: for every parser, for lint and for `acl check`,
//! doubling the input at most doubles the work.
//!
//! Each test builds an input of size N and 2N, runs the step on each five
//! times (interleaved, after a warm-up), and compares the medians of the
//! thread's CPU time (not wall-clock: other builds on the machine do not
//! count). Linear work gives a ratio near 2, quadratic work near 4; a ratio
//! of 3 or more fails. Sizes are chosen so that the smaller input takes tens
//! of milliseconds in a debug build, well above timer noise. The tests take
//! a lock so that they never time each other.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mqttforge::audit;
use mqttforge::diag::{self, Diagnostic};
use mqttforge::source::SourceFile;
use mqttforge::spec::model::Environment;

/// Work over doubled input above this ratio is not linear.
const MAX_RATIO: f64 = 3.0;
const RUNS: usize = 5;

static SERIAL: Mutex<()> = Mutex::new(());

/// CPU time of the calling thread.
#[allow(unsafe_code)] // clock_gettime: std has no thread CPU clock.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn cpu_time_of(step: &dyn Fn()) -> Duration {
    let start = thread_cpu_time();
    step();
    thread_cpu_time() - start
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Takes the lock every test holds while it runs. The first holder empties
/// PATH: audit runs shellcheck and promtool when they are installed, and
/// their time is theirs, not ours (the tests measure mqttforge's own
/// parsers and checks, which also stand in for those tools when absent).
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static NO_TOOLS: std::sync::Once = std::sync::Once::new();
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    NO_TOOLS.call_once(|| {
        let empty = std::env::temp_dir().join("mqttforge-scaling-no-tools");
        std::fs::create_dir_all(&empty).expect("an empty directory");
        // Other test threads wait on the lock: none reads the environment now.
        std::env::set_var("PATH", empty);
    });
    guard
}

/// Asserts that `step` on `make(2 * n)` costs less than [`MAX_RATIO`] times
/// `step` on `make(n)`.
fn assert_linear<T>(what: &str, n: usize, make: impl Fn(usize) -> T, step: impl Fn(&T)) {
    let _serial = serial();
    let small = make(n);
    let large = make(2 * n);
    step(&small);
    step(&large);
    let (mut small_times, mut large_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        small_times.push(cpu_time_of(&|| step(&small)));
        large_times.push(cpu_time_of(&|| step(&large)));
    }
    let (t1, t2) = (median(small_times), median(large_times));
    let ratio = t2.as_secs_f64() / t1.as_secs_f64().max(1e-9);
    eprintln!("{what}: N={n} {t1:?}, 2N {t2:?}, ratio {ratio:.2}");
    assert!(
        t1 >= Duration::from_millis(5),
        "{what}: N={n} takes only {t1:?}, too little to measure growth; raise N"
    );
    assert!(
        ratio < MAX_RATIO,
        "{what}: doubling the input from N={n} multiplies the work by {ratio:.2} ({t1:?} -> {t2:?}); linear work doubles it"
    );
}

/// The whole audit of one file, as `mqttforge audit --kind KIND FILE` runs
/// it: parse, facts, rules, and the text report.
fn audit_text(kind: &str, name: &str, text: &str) -> Vec<Diagnostic> {
    let kind = audit::kind(kind).expect("a kind");
    let file = SourceFile::new(name, text);
    let diags = audit::run_sources(
        vec![(PathBuf::from(name), file, Some(kind))],
        Environment::Production,
    );
    std::hint::black_box(diag::render_text(&diags, diag::Style::Plain));
    diags
}

fn assert_audit_linear(
    what: &str,
    kind: &'static str,
    name: &'static str,
    n: usize,
    make: impl Fn(usize) -> String,
) {
    assert_linear(what, n, make, |text: &String| {
        std::hint::black_box(audit_text(kind, name, text));
    });
}

fn lines(n: usize, line: impl Fn(usize) -> String) -> String {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&line(i));
    }
    out
}

/// A file of the repository (golden trees, examples), as the base of an input.
fn repo_file(path: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---- Mosquitto configuration -------------------------------------------

#[test]
fn mosquitto_conf_listeners() {
    assert_audit_linear(
        "mosquitto.conf listeners",
        "mosquitto-conf",
        "mosquitto.conf",
        1500,
        |n| {
            lines(n, |i| {
                format!(
                    "listener {}\nprotocol mqtt\nmax_connections 100\nallow_anonymous false\n",
                    1000 + i
                )
            })
        },
    );
}

#[test]
fn mosquitto_conf_unknown_directives() {
    assert_audit_linear(
        "mosquitto.conf unknown directives",
        "mosquitto-conf",
        "mosquitto.conf",
        2000,
        // Mostly names too short for a "did you mean" (whose cost per line
        // would hide a quadratic report), some long enough for one.
        |n| {
            "listener 1883\n".to_string()
                + &lines(n, |i| {
                    if i % 8 == 0 {
                        format!("frobnicate{i} yes\n")
                    } else {
                        "zzz yes\n".to_string()
                    }
                })
        },
    );
}

/// How much more an odd input may cost than a usual one of the same size:
/// a constant factor (the name is also in the message), not the thousands
/// a per-byte search against every directive cost.
const MAX_FACTOR: f64 = 10.0;

/// Asserts that `step` costs less than [`MAX_FACTOR`] times more on `odd`
/// than on `usual`, an input of the same size.
fn assert_comparable<T>(what: &str, usual: T, odd: T, step: impl Fn(&T)) {
    let _serial = serial();
    step(&usual);
    step(&odd);
    let (mut usual_times, mut odd_times) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        usual_times.push(cpu_time_of(&|| step(&usual)));
        odd_times.push(cpu_time_of(&|| step(&odd)));
    }
    let (t1, t2) = (median(usual_times), median(odd_times));
    let ratio = t2.as_secs_f64() / t1.as_secs_f64().max(1e-9);
    eprintln!("{what}: usual {t1:?}, odd {t2:?}, ratio {ratio:.2}");
    assert!(
        t1 >= Duration::from_millis(5),
        "{what}: too small to measure ({t1:?})"
    );
    assert!(
        ratio < MAX_FACTOR,
        "{what}: the odd input costs {ratio:.2} times the usual one of the same size ({t1:?} -> {t2:?})"
    );
}

#[test]
fn mosquitto_conf_long_word_costs_like_any_line() {
    // Not growth: a 4 MB unknown name was compared with every directive
    // (linear, with a constant of hundreds of operations per byte). An
    // unknown short name with the same bytes as its value sets the cost a
    // reported line of that size may have.
    let n = 1_000_000;
    let kind = "mosquitto-conf";
    assert_comparable(
        "mosquitto.conf, a long unknown name against a long value",
        format!("listener 1883\nzzz {}\n", "x".repeat(n)),
        format!("listener 1883\n{} zzz\n", "x".repeat(n)),
        |text: &String| {
            std::hint::black_box(audit_text(kind, "mosquitto.conf", text));
        },
    );
}

#[test]
fn mosquitto_conf_one_long_word() {
    assert_audit_linear(
        "mosquitto.conf one long word",
        "mosquitto-conf",
        "mosquitto.conf",
        500_000,
        |n| {
            format!(
                "listener 1883\n{} yes\nlog_dest {}\n",
                "x".repeat(n),
                "y".repeat(n)
            )
        },
    );
}

#[test]
fn mosquitto_conf_inline_suppressions() {
    assert_audit_linear(
        "mosquitto.conf suppressed findings",
        "mosquitto-conf",
        "mosquitto.conf",
        2000,
        |n| {
            "listener 1883\n".to_string()
                + &lines(n, |i| {
                    format!("# mqttforge:ignore MQ-CFG-003 kept for plugin {i}\nzzz yes\n")
                })
        },
    );
}

// ---- Mosquitto ACL -------------------------------------------------------

#[test]
fn mosquitto_acl_one_user_many_topics() {
    assert_audit_linear(
        "mosquitto ACL, one user",
        "mosquitto-acl",
        "acl",
        2000,
        |n| {
            "user u\n".to_string()
                + &lines(n, |i| {
                    format!("topic readwrite devices/d{i}/telemetry/#\ntopic deny devices/d{i}/secret\n")
                })
        },
    );
}

#[test]
fn mosquitto_acl_many_users() {
    assert_audit_linear(
        "mosquitto ACL, many users",
        "mosquitto-acl",
        "acl",
        2000,
        |n| {
            lines(n, |i| {
                format!(
                    "user u{i}\ntopic readwrite devices/u{i}/#\ntopic deny devices/u{i}/secret\n"
                )
            })
        },
    );
}

#[test]
fn mosquitto_acl_patterns_and_pattern_denies() {
    assert_audit_linear(
        "mosquitto ACL, patterns",
        "mosquitto-acl",
        "acl",
        1000,
        |n| {
            lines(n, |i| {
                format!("pattern readwrite devices/%u/t{i}/#\npattern deny devices/%u/t{i}/private\nuser u{i}\ntopic write devices/u{i}/t{i}/x\n")
            })
        },
    );
}

// ---- HAProxy ---------------------------------------------------------------

#[test]
fn haproxy_sections() {
    let base = repo_file("golden/emqx-cluster/haproxy/haproxy.cfg");
    let (head, tail) = base.split_at(base.find("frontend mqtt_devices").expect("a frontend"));
    assert_audit_linear("haproxy.cfg sections", "haproxy", "haproxy.cfg", 400, |n| {
        head.to_string()
            + &lines(n, |i| {
                tail.replace("mqtt_devices", &format!("mqtt_devices{i}"))
                    .replace("brokers_devices", &format!("brokers_devices{i}"))
                    .replace(":8883\n", &format!(":{}\n", 10000 + i))
                    .replace("listen stats", &format!("listen stats{i}"))
                    .replace(":8404", &format!(":{}", 30000 + i))
            })
    });
}

#[test]
fn haproxy_frontends_and_backends() {
    assert_audit_linear(
        "haproxy.cfg frontends and backends",
        "haproxy",
        "haproxy.cfg",
        1500,
        |n| {
            "defaults\n    mode tcp\n    timeout client 60s\n    timeout server 60s\n    timeout connect 5s\n".to_string()
                + &lines(n, |i| {
                    format!("frontend f{i}\n    bind :{}\n    default_backend b{i}\nbackend b{i}\n    server s{i} 10.0.0.1:1883 check\n", 1000 + i)
                })
        },
    );
}

#[test]
fn haproxy_frontends_naming_backends() {
    assert_audit_linear(
        "haproxy.cfg frontends naming backends",
        "haproxy",
        "haproxy.cfg",
        3000,
        |n| {
            "defaults\n    mode tcp\n".to_string()
                + &lines(n, |i| {
                    format!("frontend f{i}\n    default_backend b{i}\nbackend b{i}\n")
                })
        },
    );
}

#[test]
fn haproxy_servers() {
    assert_audit_linear("haproxy.cfg servers", "haproxy", "haproxy.cfg", 4000, |n| {
        "defaults\n    mode tcp\n    timeout client 60s\n    timeout server 60s\n    timeout connect 5s\nfrontend f\n    bind :1883\n    default_backend b\nbackend b\n    balance leastconn\n".to_string()
            + &lines(n, |i| format!("    server s{i} 10.0.{}.{}:1883 check\n", i / 250, i % 250))
    });
}

// ---- EMQX (HOCON, Erlang terms) ----------------------------------------------

#[test]
fn emqx_conf_listeners() {
    assert_audit_linear("emqx.conf listeners", "emqx-conf", "emqx.conf", 1000, |n| {
        "node { name = \"emqx@a\" }\n".to_string()
            + &lines(n, |i| {
                format!("listeners.ssl.l{i} {{ bind = \"0.0.0.0:{}\", ssl_options {{ verify = verify_peer }} }}\n", 1000 + i)
            })
    });
}

#[test]
fn emqx_conf_golden_blocks() {
    let base = repo_file("golden/emqx-cluster/emqx/mqtt1/emqx.conf");
    assert_audit_linear("emqx.conf repeated", "emqx-conf", "emqx.conf", 40, |n| {
        lines(n, |i| {
            base.replace("listeners.ssl.default", &format!("listeners.ssl.l{i}"))
        })
    });
}

#[test]
fn hocon_parser() {
    assert_linear(
        "HOCON parser",
        2000,
        |n| {
            lines(n, |i| {
                format!("a{i} {{ b = [1, 2, \"x\"], c {{ d = ${{a0.b}}, e = \"\"\"long\n text\"\"\" }} }}\na{i}.c.f = 10s\n")
            })
        },
        |text: &String| {
            std::hint::black_box(
                mqttforge::formats::hocon::parse(text)
                    .map(|n| mqttforge::formats::hocon::flatten(&n).len())
                    .ok(),
            );
        },
    );
}

#[test]
fn emqx_acl_rules() {
    assert_audit_linear("EMQX acl.conf", "emqx-acl", "acl.conf", 1000, |n| {
        lines(n, |i| {
            format!("{{allow, {{username, \"u{i}\"}}, publish, [\"devices/u{i}/#\"]}}.\n{{deny, {{clientid, {{re, \"^c{i}-[0-9]+$\"}}}}, subscribe, [{{eq, \"devices/#\"}}]}}.\n")
        }) + "{deny, all}.\n"
    });
}

/// Error recovery: every other term broken (a syntax error, a 4.x action),
/// each reported and the terms after it read.
#[test]
fn emqx_acl_broken_terms() {
    assert_audit_linear(
        "EMQX acl.conf with broken terms",
        "emqx-acl",
        "acl.conf",
        1000,
        |n| {
            lines(n, |i| {
                format!("{{allow, {{username \"u{i}\"}}, publish, [\"devices/u{i}/#\"]}}.\n{{allow, {{username, \"v{i}\"}}, pubsub, [\"devices/v{i}/#\"]}}.\n{{allow, {{username, \"w{i}\"}}, publish, [\"devices/w{i}/#\"]}}.\n")
            }) + "{deny, all}.\n"
        },
    );
}

#[test]
fn erlang_terms_parser() {
    assert_linear(
        "Erlang terms parser",
        4000,
        |n| {
            lines(n, |i| {
                format!("{{allow, {{'and', [{{username, \"u{i}\"}}, {{ipaddr, \"10.0.0.{}\"}}]}}, all, [\"a/{i}/#\", {{eq, \"b/+\"}}]}}. % c\n", i % 250)
            })
        },
        |text: &String| {
            std::hint::black_box(
                mqttforge::formats::erlang::parse(text)
                    .map(|t| t.len())
                    .ok(),
            );
        },
    );
}

// ---- rumqttd -------------------------------------------------------------------

#[test]
fn rumqttd_listeners() {
    assert_audit_linear(
        "rumqttd.toml listeners",
        "rumqttd",
        "rumqttd.toml",
        400,
        |n| {
            "id = 0\n[router]\nmax_connections = 10010\nmax_outgoing_packet_count = 200\nmax_segment_size = 104857600\nmax_segment_count = 10\n".to_string()
            + &lines(n, |i| format!("[v4.l{i}]\nname = \"l{i}\"\nlisten = \"0.0.0.0:{}\"\nnext_connection_delay_ms = 1\n[v4.l{i}.connections]\nconnection_timeout_ms = 10000\nmax_payload_size = 65536\nmax_inflight_count = 100\ndynamic_filters = true\n", 1000 + i))
        },
    );
}

// ---- Prometheus -------------------------------------------------------------------

#[test]
fn prometheus_config_jobs() {
    assert_audit_linear(
        "prometheus.yml jobs",
        "prometheus",
        "prometheus.yml",
        500,
        |n| {
            "global:\n  scrape_interval: 15s\nscrape_configs:\n".to_string()
                + &lines(n, |i| {
                    format!("  - job_name: job{i}\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['host{i}:9100', 'other{i}:9100']\n")
                })
        },
    );
}

#[test]
fn prometheus_rules_alerts() {
    assert_audit_linear(
        "prometheus rules",
        "prometheus-rules",
        "mqttforge.rules.yml",
        300,
        |n| {
            "groups:\n  - name: mqtt\n    rules:\n".to_string()
                + &lines(n, |i| {
                    format!("      - alert: Alert{i}\n        expr: sum(rate(mosquitto_messages_received_total{{job=\"j{i}\"}}[5m])) by (instance) > {i}\n        for: 5m\n        labels: {{ severity: warning }}\n        annotations: {{ summary: \"alert {i}\" }}\n")
                })
        },
    );
}

#[test]
fn promql_long_expression() {
    use mqttforge::formats::promql;
    assert_linear(
        "PromQL tokens",
        2000,
        |n| {
            (0..n)
                .map(|i| format!("rate(metric_{i}{{job=\"x\"}}[5m]) * 2"))
                .collect::<Vec<_>>()
                .join(" + ")
                + " > 10"
        },
        |expr: &String| {
            std::hint::black_box((
                promql::tokens(expr).len(),
                promql::metric_names(expr).len(),
                promql::comparisons(expr).len(),
            ));
        },
    );
}

// ---- Shell, sysctl, systemd ----------------------------------------------------------

#[test]
fn shell_script_body() {
    let base = repo_file("golden/mosquitto-ha/backup/backup.sh");
    let body_at = base.find("set -euo pipefail").expect("strict mode");
    let (head, body) = base.split_at(body_at);
    assert_audit_linear("backup.sh body", "shell", "backup.sh", 60, |n| {
        head.to_string() + &lines(n, |_| body.to_string())
    });
}

#[test]
fn shell_one_long_command() {
    assert_audit_linear("shell, one long command", "shell", "backup.sh", 6000, |n| {
        "#!/usr/bin/env bash\nset -euo pipefail\necho".to_string()
            + &lines(n, |i| format!(" \"$HOME/{i}\" x{i}"))
            + "\n"
    });
}

#[test]
fn shell_one_command_with_many_assignments() {
    assert_audit_linear(
        "shell, assignments before one command",
        "shell",
        "backup.sh",
        8000,
        |n| {
            "#!/usr/bin/env bash\nset -euo pipefail\n".to_string()
                + &lines(n, |i| format!("V{i}=x "))
                + "sudo"
                + &lines(n, |_| " -E".to_string())
                + " tar -czf \"$V1\" /var/lib/mosquitto\n"
        },
    );
}

#[test]
fn sysctl_lines() {
    assert_audit_linear("sysctl", "sysctl", "99-mqttforge.conf", 3000, |n| {
        lines(n, |i| {
            format!(
                "net.core.somaxconn{i} = {i}\n# comment {i}\nnet.ipv4.tcp_max_syn_backlog = {i}\n"
            )
        })
    });
}

#[test]
fn systemd_lines() {
    assert_audit_linear("systemd drop-in", "systemd", "limits.conf", 3000, |n| {
        "[Service]\n".to_string()
            + &lines(n, |i| {
                format!(
                    "LimitNOFILE={}\nEnvironment=A{i}=b\n[Unit]\nDescription=x{i}\n[Service]\n",
                    1000 + i
                )
            })
    });
}

// ---- PEM -----------------------------------------------------------------------------

#[test]
fn pem_certificates() {
    let dir = mqttforge_pki_dir();
    let cert = std::fs::read_to_string(dir.join("ca.pem")).expect("a CA certificate");
    assert_audit_linear("PEM certificates", "pem-cert", "chain.pem", 2000, |n| {
        lines(n, |_| cert.clone())
    });
}

/// A PKI issued by `mqttforge pki init`, for real certificates.
fn mqttforge_pki_dir() -> PathBuf {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mqttforge"))
            .args(["pki", "init", "site-examples/edge-mosquitto.yaml", "--dir"])
            .arg(dir.path())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("mqttforge runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
    .to_path_buf()
}

// ---- the spec loader (YAML with positions, schema, checks) -------------------

#[test]
fn spec_loader_many_devices_and_users() {
    assert_linear(
        "validate",
        400,
        |n| {
            let with_devices = edge_spec_with("devices:\n", n, |i| {
                format!("  - {{ id: dev-{i}, role: actuator }}\n")
            });
            let text = with_devices.text.replacen(
                "users:\n",
                &("users:\n".to_string() + &lines(n, |i| format!("  - {{ name: user-{i}, role: gateway, password: {{ env: MQTT_USER_{i} }} }}\n"))),
                1,
            );
            SourceFile::new("site.yaml", text)
        },
        |file| {
            std::hint::black_box(mqttforge::spec::load_source(file.clone()).is_ok());
        },
    );
}

// ---- lint -----------------------------------------------------------------------------

/// The edge example with `line` inserted `n` times after `anchor`.
fn edge_spec_with(anchor: &str, n: usize, line: impl Fn(usize) -> String) -> Arc<SourceFile> {
    let base = repo_file("site-examples/edge-mosquitto.yaml");
    let at = base.find(anchor).expect("anchor") + anchor.len();
    let mut text = base[..at].to_string();
    for i in 0..n {
        let _ = write!(text, "{}", line(i));
    }
    text.push_str(&base[at..]);
    SourceFile::new("site.yaml", text)
}

fn lint_spec(file: &Arc<SourceFile>) {
    let site = mqttforge::spec::load_source(file.clone())
        .unwrap_or_else(|d| panic!("{}", diag::render_text(&d, diag::Style::Plain)));
    let diags = mqttforge::lint::lint_site(&site, "site.yaml").expect("renders");
    std::hint::black_box(diag::render_text(&diags, diag::Style::Plain));
}

#[test]
fn lint_role_with_many_permissions() {
    assert_linear(
        "lint, one role with many permissions",
        400,
        |n| {
            edge_spec_with("  sensor:\n", n, |i| {
                format!("    - {{ write: \"devices/{{id}}/t{i}/#\" }}\n")
            })
        },
        lint_spec,
    );
}

#[test]
fn lint_emqx_role_with_many_permissions() {
    assert_linear(
        "lint, EMQX site, one role with many permissions",
        250,
        |n| {
            let base = repo_file("site-examples/emqx-cluster.yaml");
            let anchor = "  sensor:\n";
            let at = base.find(anchor).expect("a sensor role") + anchor.len();
            let perms = lines(n, |i| {
                format!("    - {{ write: \"devices/{{id}}/t{i}/#\" }}\n")
            });
            SourceFile::new(
                "site.yaml",
                format!("{}{perms}{}", &base[..at], &base[at..]),
            )
        },
        lint_spec,
    );
}

#[test]
fn lint_many_devices() {
    assert_linear(
        "lint, many devices",
        1500,
        |n| {
            edge_spec_with("devices:\n", n, |i| {
                format!("  - {{ id: dev-{i}, role: actuator }}\n")
            })
        },
        lint_spec,
    );
}

#[test]
fn lint_many_users() {
    assert_linear(
        "lint, many users",
        1300,
        |n| {
            edge_spec_with("users:\n", n, |i| {
                format!(
                    "  - {{ name: user-{i}, role: gateway, password: {{ env: MQTT_USER_{i} }} }}\n"
                )
            })
        },
        lint_spec,
    );
}

// ---- acl check ----------------------------------------------------------------------------

fn acl_check(file: &Arc<SourceFile>, user: &str, topic: &str) {
    let site = mqttforge::spec::load_source(file.clone()).expect("valid");
    let acl = mqttforge::acl::principal::acl_for(&site, "site.yaml", user)
        .expect("renders")
        .expect("an ACL");
    let who = mqttforge::acl::Who::new(Some(user), user);
    let decision = mqttforge::acl::decide(&acl, &who, mqttforge::acl::Access::Write, topic);
    assert!(decision.allowed, "{decision:?}");
}

#[test]
fn acl_check_in_a_large_fleet() {
    // The fleet's size grows; the spec does not: checking a device must not
    // render every device (a quadratic or linear cost in the fleet fails).
    assert_linear(
        "acl check, fleet size",
        200_000,
        |n| {
            let base = repo_file("site-examples/mosquitto-ha.yaml");
            SourceFile::new(
                "site.yaml",
                base.replace(
                    "{ prefix: forklift-, from: 1, to: 60, width: 2 }",
                    &format!("{{ prefix: forklift-, from: 1, to: {n}, width: 6 }}"),
                ),
            )
        },
        |file| {
            for id in ["000001", "000042", "100000", "199999"] {
                let user = format!("forklift-{id}");
                acl_check(file, &user, &format!("devices/{user}/response/x"));
            }
        },
    );
}

#[test]
fn acl_check_with_many_devices_in_the_spec() {
    assert_linear(
        "acl check, devices listed",
        1000,
        |n| {
            edge_spec_with("devices:\n", n, |i| {
                format!("  - {{ id: dev-{i}, role: actuator }}\n")
            })
        },
        |file| acl_check(file, "dev-7", "devices/dev-7/response/x"),
    );
}
