//! Diagnostic codes: the stable name in `error[CODE]`, in JSON and SARIF
//! output, and what each means. A lint finding's code is its rule ID; every
//! other problem has one of the codes of [`CODES`]. Codes are part of the
//! interface (scripts match on them): never renamed, never reused.

use std::fmt;

/// What kind of problem a diagnostic reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    // Reading the spec (formats::yaml).
    YamlSyntax,
    YamlLimit,
    DuplicateKey,
    // The schema (spec::schema).
    UnknownKey,
    MissingKey,
    Type,
    Enum,
    Pattern,
    OneOf,
    OutOfRange,
    Schema,
    // The semantic checks (spec::checks).
    UnsafeIdentifier,
    UnsafeCharacter,
    InvalidTopic,
    DuplicateName,
    DuplicatePort,
    UnknownReference,
    EngineMismatch,
    PkiDirOutside,
    InvalidAddress,
    EmptyRange,
    EmptyRole,
    UnprovenIdentity,
    UnknownRule,
    TooManyDevices,
    TlsVersion,
    ThresholdOrder,
    Inconsistent,
    FirmwareMacro,
    Unsupported,
    MissingSecret,
    Secret,
    // The workflows.
    Io,
    Pki,
    Render,
    Template,
    Plan,
    Verify,
    Audit,
    Bench,
    Acl,
    Suppression,
    Baseline,
    Usage,
    Feature,
    Internal,
    /// A lint finding: the rule's catalog ID (`MQ-TLS-001`).
    Rule(&'static str),
}

/// Every code but [`Code::Rule`], with what it means: the table
/// `docs/diagnostics.md` is generated from (a test keeps them in sync).
pub const CODES: &[(Code, &str, &str)] = &[
    (Code::YamlSyntax, "yaml-syntax", "the spec is not well-formed YAML, or uses a YAML feature specs may not (anchors, tags, multiple documents)"),
    (Code::YamlLimit, "yaml-limit", "the spec exceeds a size, depth or count limit that bounds what reading it can cost"),
    (Code::DuplicateKey, "duplicate-key", "a mapping names the same key twice"),
    (Code::UnknownKey, "unknown-key", "a key the schema does not define (usually a misspelling)"),
    (Code::MissingKey, "missing-key", "a key the schema requires is absent"),
    (Code::Type, "type", "a value of the wrong type (a string where a number belongs, ...)"),
    (Code::Enum, "enum", "a value outside the schema's list of choices"),
    (Code::Pattern, "pattern", "a value that does not have the required form (a duration, a size, a topic filter, ...)"),
    (Code::OneOf, "one-of", "a value that matches none, or more than one, of the schema's alternatives"),
    (Code::OutOfRange, "out-of-range", "a number or a length outside its bounds"),
    (Code::Schema, "schema", "the schema itself could not be applied"),
    (Code::UnsafeIdentifier, "unsafe-identifier", "a name that would be unsafe in a file name, a config line or a certificate field"),
    (Code::UnsafeCharacter, "unsafe-character", "a value holding a character that could add a line or a directive to a generated file"),
    (Code::InvalidTopic, "invalid-topic", "an MQTT topic or filter that brokers refuse"),
    (Code::DuplicateName, "duplicate-name", "two things of one kind share a name"),
    (Code::DuplicatePort, "duplicate-port", "two listeners on one node share a port"),
    (Code::UnknownReference, "unknown-reference", "a name that refers to nothing declared"),
    (Code::EngineMismatch, "engine-mismatch", "a setting the chosen broker engine cannot honour"),
    (Code::PkiDirOutside, "pki-dir-outside", "a PKI directory that escapes the output tree"),
    (Code::InvalidAddress, "invalid-address", "a host, address or network that does not parse"),
    (Code::EmptyRange, "empty-range", "a device range that names no device"),
    (Code::EmptyRole, "empty-role", "a role with neither publish nor subscribe grants"),
    (Code::UnprovenIdentity, "unproven-identity", "an identity the broker cannot establish from the connection (no certificate, no password)"),
    (Code::UnknownRule, "unknown-rule", "a lint suppression names a rule that does not exist"),
    (Code::TooManyDevices, "too-many-devices", "more devices than the tool renders in one site"),
    (Code::TlsVersion, "tls-version", "a TLS version setting that no client could meet or that the engine cannot hold"),
    (Code::ThresholdOrder, "threshold-order", "alert thresholds in the wrong order (warning above critical)"),
    (Code::Inconsistent, "inconsistent", "two values of the spec that contradict each other"),
    (Code::FirmwareMacro, "firmware-macro", "a firmware setting whose C macro name would collide or be invalid"),
    (Code::Unsupported, "unsupported", "a combination the chosen engine or load balancer cannot render"),
    (Code::MissingSecret, "missing-secret", "a secret the spec names (an environment variable, a file) is not there"),
    (Code::Secret, "secret", "a secret cannot be resolved or has an unusable value"),
    (Code::Io, "io", "a file or directory could not be read or written"),
    (Code::Pki, "pki", "a certificate, key or CRL problem: missing, unreadable, mismatched, expired or not issued by the site's CA"),
    (Code::Render, "render", "the site could not be rendered"),
    (Code::Template, "template", "a template failed to render (a bug in mqttforge: please report it)"),
    (Code::Plan, "plan", "the output tree cannot be planned or applied as asked (a foreign file, an unsafe path, a lost confirmation)"),
    (Code::Verify, "verify", "a verify runtime could not be set up or run (a missing binary, a port, a container)"),
    (Code::Audit, "audit", "a hand-written file that audit cannot read or whose kind it cannot tell"),
    (Code::Bench, "bench", "a benchmark could not be set up or run"),
    (Code::Acl, "acl", "an `acl check` question that cannot be answered as asked"),
    (Code::Suppression, "suppression", "a malformed, expired or forbidden suppression (spec `lint.ignore`, inline comment or baseline)"),
    (Code::Baseline, "baseline", "a baseline file (`--baseline`) that cannot be read or does not have the baseline's form"),
    (Code::Usage, "usage", "command-line arguments that contradict each other or name nothing"),
    (Code::Feature, "feature", "the command needs a cargo feature this build of mqttforge left out"),
    (Code::Internal, "internal", "a bug in mqttforge: please report it with the input"),
];

impl Code {
    /// The stable name: `unknown-key`, or the rule ID.
    pub fn as_str(self) -> &'static str {
        if let Code::Rule(id) = self {
            return id;
        }
        CODES
            .iter()
            .find(|(code, _, _)| *code == self)
            .map(|(_, name, _)| *name)
            .unwrap_or("internal")
    }

    /// What the code means, for `--help`-style listings.
    pub fn meaning(self) -> &'static str {
        match self {
            Code::Rule(_) => "a lint finding (see `mqttforge explain RULE`)",
            _ => CODES
                .iter()
                .find(|(code, _, _)| *code == self)
                .map(|(_, _, meaning)| *meaning)
                .unwrap_or(""),
        }
    }

    /// The code of a name, for matching `--select` and filters.
    pub fn from_name(name: &str) -> Option<Code> {
        CODES
            .iter()
            .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
            .map(|(code, _, _)| *code)
    }

    pub fn is_rule(self) -> bool {
        matches!(self, Code::Rule(_))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// `docs/diagnostics.md`: every code and what it means.
pub fn markdown() -> String {
    let mut out = String::from(
        "# mqttforge diagnostic codes\n\n<!-- generated from src/diag/code.rs; a test keeps it in sync -->\n\n\
         Every problem mqttforge reports carries a code: `error[unknown-key]: ...` in text,\n\
         `\"code\"` in JSON, `ruleId` in SARIF. A lint finding's code is its rule ID\n\
         (`MQ-TLS-001`, see [rules.md](rules.md)); every other problem has one of these.\n\
         Codes are stable: never renamed, never reused.\n\n| code | meaning |\n|---|---|\n",
    );
    for (_, name, meaning) in CODES {
        out.push_str(&format!("| `{name}` | {meaning} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case() {
        for (i, (code, name, meaning)) in CODES.iter().enumerate() {
            assert!(
                CODES[i + 1..]
                    .iter()
                    .all(|(c, n, _)| c != code && n != name),
                "{name} listed twice"
            );
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{name} is not kebab-case"
            );
            assert!(!meaning.is_empty(), "{name} has no meaning");
            assert_eq!(code.as_str(), *name);
            assert_eq!(Code::from_name(name), Some(*code));
        }
        assert_eq!(Code::Rule("MQ-TLS-001").as_str(), "MQ-TLS-001");
    }

    #[test]
    fn docs_list_every_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/diagnostics.md");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        if on_disk != markdown() {
            if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
                std::fs::write(path, markdown()).expect("write docs/diagnostics.md");
            } else {
                panic!("docs/diagnostics.md is out of date: regenerate with UPDATE_SNAPSHOTS=1");
            }
        }
    }
}
