//! The site spec: loading with positions, validation (schema, then semantic
//! checks), and the validated [`Site`] every later stage reads.
//!
//! Parse, then validate into a new type: nothing after this module sees raw
//! input, and a [`Site`] can only be had from a spec with no errors.

pub mod checks;
pub mod derive;
pub mod layout;
pub mod model;
pub mod recovery;
pub mod schema;
pub mod units;

use std::path::Path;
use std::sync::Arc;

use crate::diag::Code;
use crate::diag::{self, Diagnostic, Label};
use crate::formats::yaml;
use crate::source::{self, SourceFile, SpanMap};

use model::{Permission, SiteSpec, TopicTemplate};

/// A role every site has unless it defines one of the same name.
pub struct BuiltinRole {
    pub name: &'static str,
    /// (access, topic filter)
    pub permissions: &'static [(&'static str, &'static str)],
}

pub const BUILTIN_ROLES: &[BuiltinRole] = &[
    BuiltinRole {
        name: "admin",
        permissions: &[("readwrite", "#")],
    },
    BuiltinRole {
        name: "monitoring",
        permissions: &[
            ("read", "$SYS/#"),
            ("read", "devices/+/telemetry/#"),
            ("read", "devices/+/status"),
        ],
    },
];

/// A validated site: the typed spec and where each of its values came from.
#[derive(Clone, Debug)]
pub struct Site {
    pub spec: SiteSpec,
    pub spans: SpanMap,
}

/// One device, from a single entry or a fleet member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device<'a> {
    pub id: String,
    pub role: &'a str,
    pub firmware: Option<&'a str>,
    /// Index of the entry in `devices` it comes from.
    pub entry: usize,
}

impl Site {
    pub fn name(&self) -> &str {
        self.spec.site.as_str()
    }

    pub fn file(&self) -> &Arc<SourceFile> {
        self.spans.file()
    }

    /// The permissions of a role: the spec's definition, else the built-in one.
    pub fn role(&self, name: &str) -> Option<Vec<Permission>> {
        if let Some(perms) = self.spec.roles.get(name) {
            return Some(perms.clone());
        }
        let builtin = BUILTIN_ROLES.iter().find(|r| r.name == name)?;
        Some(
            builtin
                .permissions
                .iter()
                .map(|(access, topic)| {
                    let t = Some(TopicTemplate((*topic).to_string()));
                    Permission {
                        read: if *access == "read" { t.clone() } else { None },
                        write: if *access == "write" { t.clone() } else { None },
                        readwrite: if *access == "readwrite" {
                            t.clone()
                        } else {
                            None
                        },
                        deny: None,
                    }
                })
                .collect(),
        )
    }

    /// Every device of the site, fleets expanded, in spec order.
    pub fn devices(&self) -> impl Iterator<Item = Device<'_>> {
        self.spec.devices.iter().enumerate().flat_map(|(entry, d)| {
            let role = d.role.as_str();
            let firmware = d.firmware.as_ref().map(|f| f.as_str());
            let ids: Box<dyn Iterator<Item = String>> = match (&d.id, &d.fleet) {
                (Some(id), _) => Box::new(std::iter::once(id.0.clone())),
                (None, Some(f)) => {
                    let width = f.width.unwrap_or(0) as usize;
                    let prefix = f.prefix.0.clone();
                    Box::new((f.from..=f.to).map(move |n| format!("{prefix}{n:0width$}")))
                }
                (None, None) => Box::new(std::iter::empty()),
            };
            ids.map(move |id| Device {
                id,
                role,
                firmware,
                entry,
            })
        })
    }

    pub fn device_count(&self) -> u64 {
        self.spec
            .devices
            .iter()
            .map(|d| match (&d.id, &d.fleet) {
                (Some(_), _) => 1,
                (None, Some(f)) => f.to - f.from + 1,
                (None, None) => 0,
            })
            .sum()
    }
}

/// Loads and validates a spec file: every problem at once, sorted by position.
pub fn load(path: &Path) -> Result<Site, Vec<Diagnostic>> {
    let file = yaml::read_spec(path).map_err(|d| vec![d])?;
    load_source(file)
}

/// Inline secret values (`value:` of a secret) are masked in every
/// snippet any diagnostic prints of this spec.
fn mark_inline_secrets(json: &serde_json::Value, pointer: &str, spans: &SpanMap) {
    match json {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                mark_inline_secrets(v, &source::pointer_join(pointer, k), spans);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                mark_inline_secrets(v, &source::pointer_join(pointer, i), spans);
            }
        }
        _ if schema::is_secret_value(pointer) => {
            let span = spans.value(pointer);
            span.file.mark_secret(&span);
        }
        _ => {}
    }
}

/// Validates spec text already in memory.
pub fn load_source(file: Arc<SourceFile>) -> Result<Site, Vec<Diagnostic>> {
    let doc = yaml::load_yaml(&file)?;
    mark_inline_secrets(&doc.json, "", &doc.spans);
    if !doc.json.is_object() {
        let span = doc.spans.value("");
        return Err(vec![Diagnostic::error(
            Code::Type,
            "a site spec is a mapping of keys such as `site`, `engine`, `nodes`",
        )
        .with_label(Label::primary(span, "not a mapping"))
        .with_help("start from one of the files in site-examples/")]);
    }
    let mut diags = schema::validate(&doc.json, &doc.spans);
    diags.extend(checks::run(&doc.json, &doc.spans));
    if !diags.is_empty() {
        diag::sort(&mut diags);
        return Err(diags);
    }
    match serde_json::from_value::<SiteSpec>(doc.json) {
        Ok(spec) => Ok(Site {
            spec,
            spans: doc.spans,
        }),
        // The schema is generated from the model, so this means the two
        // disagree: report it at the top of the file rather than panic.
        Err(e) => Err(vec![Diagnostic::error(
            Code::Internal,
            format!("the spec passed the schema but not the model: {e}"),
        )
        .with_label(Label::primary(doc.spans.value(""), "in this file"))
        .with_help("please report this as a bug in mqttforge")]),
    }
}

/// A diagnostic about a spec value that cannot be used as written (by a
/// renderer, the PKI): at the value, with help.
pub fn spec_error(
    site: &Site,
    pointer: &str,
    code: Code,
    message: String,
    help: &str,
) -> Diagnostic {
    Diagnostic::error(code, message)
        .with_label(Label::primary(site.spans.value(pointer), "here"))
        .with_help(help)
}
