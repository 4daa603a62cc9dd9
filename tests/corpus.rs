//! `audit` over the real-world corpus in tests/corpus/: public configuration
//! files, each recorded in tests/corpus/SOURCES.tsv, judged finding by
//! finding in tests/corpus/expected.tsv.
//!
//! Fails on a crash (exit status other than 0 or 1, or no JSON), on a `tp`
//! finding that no longer appears (a lost finding), on a finding that is not
//! in expected.tsv (a new finding must be judged: a deliberate edit), and on
//! an `fp` line whose finding is gone (delete the line, so the file stays
//! truthful). Prints precision = tp / (tp + fp) per file kind and overall;
//! with `MQTTFORGE_CORPUS_REPORT=1` it prints the Markdown table the README
//! shows.
//!
//! An entry is a file under tests/corpus/<kind>/, or a directory
//! tests/corpus/sites/<name>/ whose files are audited together as one site.
//! expected.tsv columns: entry, code, where (line, or file:line inside a
//! site), verdict (`tp`, `fp` or `miss`), reason. `miss` lines record a
//! dangerous mistake that no rule reports (code = the class); they are
//! counted, not matched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Entries, sorted: (entry name, files relative to the corpus directory).
fn entries(root: &Path) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut kinds: Vec<_> = std::fs::read_dir(root)
        .expect("tests/corpus")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_dir())
        .collect();
    kinds.sort();
    for kind in kinds {
        let kind_name = kind.file_name().unwrap().to_string_lossy().to_string();
        let mut items: Vec<_> = std::fs::read_dir(&kind)
            .expect("kind dir")
            .map(|e| e.expect("dir entry").path())
            .collect();
        items.sort();
        for item in items {
            let name = format!(
                "{kind_name}/{}",
                item.file_name().unwrap().to_string_lossy()
            );
            if item.is_dir() {
                let mut files = Vec::new();
                walk(&item, &mut files);
                files.sort();
                let rel = files
                    .iter()
                    .map(|f| rel_to(root, f))
                    .collect::<Vec<String>>();
                out.push((name, rel));
            } else {
                out.push((name.clone(), vec![name]));
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("site dir") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn rel_to(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .expect("inside corpus")
        .to_string_lossy()
        .replace('\\', "/")
}

/// One finding: (code, where). `where` is the line, or `file:line` with the
/// file relative to the site directory when the entry is a site.
type Finding = (String, String);

fn audit(root: &Path, entry: &str, files: &[String]) -> Result<Vec<Finding>, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mqttforge"))
        .current_dir(root)
        .arg("audit")
        .arg("--format")
        .arg("json")
        .args(files)
        .output()
        .map_err(|e| format!("{entry}: cannot run mqttforge: {e}"))?;
    let code = out.status.code();
    if code != Some(0) && code != Some(1) {
        return Err(format!(
            "{entry}: audit exited with {code:?} (a crash?)\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{entry}: audit printed no JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let site_prefix = if files.len() == 1 && files[0] == entry {
        None
    } else {
        Some(format!("{entry}/"))
    };
    let mut findings = Vec::new();
    for d in doc["diagnostics"].as_array().cloned().unwrap_or_default() {
        let code = d["code"].as_str().unwrap_or("?").to_string();
        let line = d["line"]
            .as_u64()
            .map_or("-".to_string(), |l| l.to_string());
        let place = match (&site_prefix, d["file"].as_str()) {
            (Some(prefix), Some(file)) => {
                format!(
                    "{}:{line}",
                    file.strip_prefix(prefix.as_str()).unwrap_or(file)
                )
            }
            _ => line,
        };
        findings.push((code, place));
    }
    Ok(findings)
}

struct Expected {
    entry: String,
    code: String,
    place: String,
    verdict: String,
    lineno: usize,
}

fn read_expected(root: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(root.join("expected.tsv")).expect("expected.tsv");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() >= 5,
            "expected.tsv:{}: needs 5 tab-separated columns (entry, code, line, verdict, reason): {line}",
            i + 1
        );
        assert!(
            matches!(cols[3], "tp" | "fp" | "miss"),
            "expected.tsv:{}: verdict must be tp, fp or miss, not `{}`",
            i + 1,
            cols[3]
        );
        assert!(
            !cols[4].trim().is_empty(),
            "expected.tsv:{}: give a reason",
            i + 1
        );
        out.push(Expected {
            entry: cols[0].to_string(),
            code: cols[1].to_string(),
            place: cols[2].to_string(),
            verdict: cols[3].to_string(),
            lineno: i + 1,
        });
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Tally {
    entries: usize,
    tp: usize,
    fp: usize,
    miss: usize,
}

fn precision(t: Tally) -> String {
    if t.tp + t.fp == 0 {
        "n/a".to_string()
    } else {
        format!("{:.3}", t.tp as f64 / (t.tp + t.fp) as f64)
    }
}

#[test]
fn corpus_findings_match_expected() {
    let root = corpus_dir();
    let entries = entries(&root);
    let expected = read_expected(&root);
    let known: std::collections::BTreeSet<&str> = entries.iter().map(|(e, _)| e.as_str()).collect();
    let mut problems = Vec::new();
    for e in &expected {
        if !known.contains(e.entry.as_str()) {
            problems.push(format!(
                "expected.tsv:{}: no corpus entry `{}`",
                e.lineno, e.entry
            ));
        }
    }
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (entry, files) in &entries {
        let kind = entry.split('/').next().unwrap_or("").to_string();
        let tally = tallies.entry(kind).or_default();
        tally.entries += 1;
        let mut findings = match audit(&root, entry, files) {
            Ok(f) => f,
            Err(msg) => {
                problems.push(msg);
                continue;
            }
        };
        for e in expected.iter().filter(|e| &e.entry == entry) {
            if e.verdict == "miss" {
                tally.miss += 1;
                continue;
            }
            match findings
                .iter()
                .position(|(c, p)| *c == e.code && *p == e.place)
            {
                Some(i) => {
                    findings.remove(i);
                    if e.verdict == "tp" {
                        tally.tp += 1;
                    } else {
                        tally.fp += 1;
                    }
                }
                None if e.verdict == "tp" => problems.push(format!(
                    "LOST: expected.tsv:{}: {entry} {} at {} (a true finding no longer reported)",
                    e.lineno, e.code, e.place
                )),
                None => problems.push(format!(
                    "STALE: expected.tsv:{}: {entry} {} at {} is gone; delete this fp line",
                    e.lineno, e.code, e.place
                )),
            }
        }
        for (code, place) in findings {
            problems.push(format!(
                "UNJUDGED: {entry}\t{code}\t{place}\t(judge it: add a tp or fp line to expected.tsv)"
            ));
        }
    }
    let mut total = Tally::default();
    let mut table = String::from(
        "| kind | entries | true findings | false positives | precision | misses recorded |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (kind, t) in &tallies {
        total.entries += t.entries;
        total.tp += t.tp;
        total.fp += t.fp;
        total.miss += t.miss;
        table.push_str(&format!(
            "| {kind} | {} | {} | {} | {} | {} |\n",
            t.entries,
            t.tp,
            t.fp,
            precision(*t),
            t.miss
        ));
    }
    table.push_str(&format!(
        "| **all** | {} | {} | {} | {} | {} |\n",
        total.entries,
        total.tp,
        total.fp,
        precision(total),
        total.miss
    ));
    if std::env::var_os("MQTTFORGE_CORPUS_REPORT").is_some() {
        println!("{table}");
    } else {
        for (kind, t) in &tallies {
            println!(
                "corpus precision {kind}: {} (tp {}, fp {})",
                precision(*t),
                t.tp,
                t.fp
            );
        }
        println!(
            "corpus precision overall: {} (tp {}, fp {}, misses {})",
            precision(total),
            total.tp,
            total.fp,
            total.miss
        );
    }
    assert!(
        entries.len() >= 60,
        "the corpus must hold at least 60 entries, has {}",
        entries.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_corpus_file_has_a_source() {
    let root = corpus_dir();
    let text = std::fs::read_to_string(root.join("SOURCES.tsv")).expect("SOURCES.tsv");
    let listed: std::collections::BTreeSet<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next().map(str::to_string))
        .collect();
    let mut missing = Vec::new();
    for (_, files) in entries(&root) {
        for f in files {
            if !listed.contains(&f) {
                missing.push(f);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a line in SOURCES.tsv: {missing:?}"
    );
}
