//! The architecture, checked: every top-level module of `src/` sits in one
//! layer of [`LAYERS`], and no module imports from a layer above its own or
//! from another module of its own layer. No function outside tests is
//! longer than [`MAX_FN_LINES`].
//!
//! It reads the source as text, the way `arch_check.py` of the brief does:
//! a `crate::x` path (or a grouped `use crate::{x, y::z}`) outside comments
//! and `#[cfg(test)]` modules is an import of `x`. docs/ARCHITECTURE.md
//! explains the layers and where each kind of change goes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may import from any layer below its
/// own, and from nothing else.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "foundations",
        &["source", "suggest", "mqtt", "catalog", "fs"],
    ),
    ("diagnostics", &["diag"]),
    ("formats", &["formats"]),
    ("spec", &["spec"]),
    ("pki", &["pki"]),
    ("render", &["render"]),
    ("acl", &["acl"]),
    ("facts", &["facts"]),
    ("lint", &["lint"]),
    ("apply", &["plan"]),
    (
        "workflows",
        &["audit", "verify", "bench", "runbook", "checklist"],
    ),
    ("cli", &["cli"]),
];

/// Longest function outside tests, in lines from `fn` to its closing brace.
const MAX_FN_LINES: usize = 120;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// The top-level module a file belongs to (`src/lint/rules/x.rs` → `lint`);
/// `None` for the crate roots.
fn top_module(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src_dir()).expect("under src/");
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The file's lines without `#[cfg(test)] mod x { ... }` blocks, each with
/// its line comment removed, paired with its 1-based line number.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut skip_to: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(end) = &skip_to {
            if line == end {
                skip_to = None;
            }
            continue;
        }
        let next = lines.get(i + 1).map_or("", |l| l.trim_start());
        if line.trim() == "#[cfg(test)]"
            && (next.starts_with("mod ") || next.starts_with("pub mod "))
            && next.trim_end().ends_with('{')
        {
            let indent = &lines[i + 1][..lines[i + 1].len() - next.len()];
            skip_to = Some(format!("{indent}}}"));
            continue;
        }
        let code = line.split("//").next().unwrap_or("");
        kept.push((i + 1, code.to_string()));
    }
    kept
}

/// Top-level modules a file imports through `crate::`.
fn imports(text: &str) -> BTreeSet<String> {
    let code: String = code_lines(text)
        .into_iter()
        .map(|(_, l)| l + "\n")
        .collect();
    let path = regex::Regex::new(r"\bcrate::(\w+)").unwrap();
    let mut out: BTreeSet<String> = path
        .captures_iter(&code)
        .map(|c| c[1].to_string())
        .collect();
    for group in code.match_indices("crate::{") {
        out.extend(grouped_names(&code[group.0 + "crate::".len()..]));
    }
    out
}

/// The first path segment of each item at depth one of the brace group that
/// `text` starts with.
fn grouped_names(text: &str) -> Vec<String> {
    let mut depth = 0;
    let mut items = vec![String::new()];
    for ch in text.chars() {
        match ch {
            '{' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        if depth >= 1 {
            items.last_mut().unwrap().push(ch);
        }
    }
    items
        .iter()
        .filter_map(|item| {
            let name: String = item
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty() && name != "self").then_some(name)
        })
        .collect()
}

#[test]
fn every_module_has_a_layer() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let unplaced: BTreeSet<String> = files
        .iter()
        .filter_map(|f| top_module(f))
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules with no layer in tests/architecture.rs LAYERS (add each to its layer, and to docs/ARCHITECTURE.md): {unplaced:?}"
    );
}

#[test]
fn no_module_imports_from_its_own_layer_or_above() {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut upward = Vec::new();
    for file in &files {
        let Some(module) = top_module(file) else {
            continue;
        };
        let Some(own) = layer_of(&module) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a source file");
        for import in imports(&text) {
            if import == module {
                continue;
            }
            match layer_of(&import) {
                Some(theirs) if theirs < own => {}
                Some(theirs) => upward.push(format!(
                    "{}: {module} ({}) imports {import} ({})",
                    file.display(),
                    LAYERS[own].0,
                    LAYERS[theirs].0
                )),
                None => {}
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports against the layers:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_function_outside_tests_is_longer_than_the_limit() {
    let signature = regex::Regex::new(
        r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)",
    )
    .unwrap();
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut long = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file");
        let lines = code_lines(&text);
        for (at, (number, line)) in lines.iter().enumerate() {
            let Some(found) = signature.captures(line) else {
                continue;
            };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let closing = format!("{}}}", &found[1]);
            if let Some((end, _)) = lines[at + 1..].iter().find(|(_, l)| *l == closing) {
                let length = end - number + 1;
                if length > MAX_FN_LINES {
                    long.push(format!(
                        "{}:{number} {} is {length} lines",
                        file.display(),
                        &found[7]
                    ));
                }
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them into named steps):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_checks_see_imports_and_skip_tests_and_comments() {
    let text = "use crate::{diag::Diagnostic, spec::{self, Site}};\n\
                // crate::cli in a comment\n\
                fn f() { crate::render::x(); }\n\
                #[cfg(test)]\n\
                mod tests {\n    use crate::verify;\n}\n";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["diag", "render", "spec"]);
    assert!(layer_of("cli") > layer_of("lint"));
    assert!(layer_of("nothing").is_none());
}
