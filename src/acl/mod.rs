//! The ACL model and evaluator, with each broker's own semantics: what a
//! Mosquitto ACL file or an EMQX acl.conf decides for a client, an access
//! and a topic, and which rule decided.
//!
//! - [`mosquitto`]: Mosquitto 2.0 (`user`/`topic`/`pattern`, `%u`/`%c`,
//!   denies first, default deny);
//! - [`emqx`]: EMQX 5 file authorization (first match wins, placeholders,
//!   `{re, ...}` principals through the small [`regex`] matcher, then
//!   `authorization.no_match`);
//! - [`topic`]: MQTT filter matching and coverage;
//! - [`analysis`]: rules that can never decide (duplicated, shadowed);
//! - [`firmware`]: the topics a device firmware header publishes and
//!   subscribes to;
//! - [`principal`]: the ACL as one client sees it, without rendering every
//!   member of the site's fleets (`acl check`).
//!
//! `mqttforge acl check`, the ACL lint rules and `verify`'s ACL matrix all
//! ask [`decide`].

pub mod analysis;
pub mod emqx;
pub mod firmware;
pub mod index;
pub mod mosquitto;
pub mod principal;
pub mod regex;
pub mod topic;

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

pub use analysis::DeadRule;

use crate::render::OutputTree;
use crate::source::{SourceFile, Span};
use crate::spec::model::Engine;

/// What a client asks for: to receive (subscribe) or to publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// The client: its username (none for anonymous clients), client id, and
/// what EMQX may also match on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    pub username: Option<String>,
    pub client_id: String,
    /// The CN of the client certificate (`${cert_common_name}`).
    pub cert_common_name: Option<String>,
    /// The client's address (`{ipaddr, ...}`); rules on addresses never
    /// match a client without one.
    pub peer: Option<IpAddr>,
    /// EMQX client attributes (`{client_attr, Name, Value}`), set when the
    /// client connects (e.g. by its listener's zone).
    pub client_attrs: std::collections::BTreeMap<String, String>,
}

impl Who {
    pub fn new(username: Option<&str>, client_id: &str) -> Who {
        Who {
            username: username.map(str::to_string),
            client_id: client_id.to_string(),
            cert_common_name: None,
            peer: None,
            client_attrs: Default::default(),
        }
    }
}

/// The answer: allowed or not, and the rule that decided (its span and its
/// text as written), or a note saying what decided when no rule did.
#[derive(Clone, Debug)]
pub struct Decision {
    pub allowed: bool,
    pub rule: Option<(Span, String)>,
    pub note: Option<String>,
}

/// A syntax or semantic error the broker would refuse the file for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for ParseError {}

/// An ACL file as its broker reads it.
#[derive(Clone, Debug)]
pub enum Acl {
    Mosquitto(mosquitto::MosquittoAcl),
    Emqx(emqx::EmqxAcl),
}

impl Acl {
    pub fn file(&self) -> &Arc<SourceFile> {
        match self {
            Acl::Mosquitto(a) => &a.file,
            Acl::Emqx(a) => &a.file,
        }
    }

    pub fn engine(&self) -> Engine {
        match self {
            Acl::Mosquitto(_) => Engine::Mosquitto,
            Acl::Emqx(_) => Engine::Emqx,
        }
    }

    /// Rules that never change a decision.
    pub fn dead_rules(&self) -> Vec<DeadRule> {
        match self {
            Acl::Mosquitto(a) => analysis::mosquitto(a),
            Acl::Emqx(a) => analysis::emqx(a),
        }
    }
}

/// What the ACL rules read besides `Facts::acl`: the ACL files themselves
/// (the rendered one in lint, the audited ones), to ask [`decide`], and the
/// rules that never decide, with spans where the user fixes them (spec
/// roles in lint, the file in audit).
#[derive(Clone, Debug, Default)]
pub struct AclFacts {
    pub files: Vec<Acl>,
    pub dead: Vec<DeadRule>,
    /// EMQX allows what no authorization source decides
    /// (`authorization.no_match = allow`, written or left to EMQX 5's
    /// default in an `authorization` block): where, and whether written.
    pub no_match_allow: Option<(Span, bool)>,
}

/// What `acl` decides for `who` asking `access` to `topic` (a topic name,
/// or for `Read` a subscription filter).
pub fn decide(acl: &Acl, who: &Who, access: Access, topic: &str) -> Decision {
    let problem = match access {
        Access::Write => topic::name_problem(topic),
        Access::Read => topic::filter_problem(topic),
    };
    if let Some(p) = problem {
        return Decision {
            allowed: false,
            rule: None,
            note: Some(format!(
                "`{topic}` is not a valid topic: {p}; the broker refuses it before any ACL check"
            )),
        };
    }
    match acl {
        Acl::Mosquitto(a) => a.decide(who, access, topic),
        Acl::Emqx(a) => a.decide(who, access, topic),
    }
}

/// Where the rendered tree holds the ACL of an engine (None: the engine has
/// no topic authorization).
pub fn rendered_path(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Mosquitto => Some("mosquitto/acl"),
        Engine::Emqx => Some("emqx/acl.conf"),
        Engine::Rumqttd => None,
    }
}

/// Parses text as the ACL file of `engine`.
pub fn parse(engine: Engine, file: &Arc<SourceFile>) -> Result<Acl, ParseError> {
    match engine {
        Engine::Mosquitto => mosquitto::parse(file).map(Acl::Mosquitto),
        Engine::Emqx => emqx::parse(file).map(Acl::Emqx),
        Engine::Rumqttd => Err(ParseError {
            line: 1,
            col: 1,
            message: "rumqttd has no topic authorization, hence no ACL file".into(),
        }),
    }
}

/// The ACL of a rendered site, named by its path in the tree; Ok(None) when
/// the engine has no ACL or the tree lacks the file.
pub fn from_tree(engine: Engine, tree: &OutputTree) -> Result<Option<Acl>, ParseError> {
    let Some(path) = rendered_path(engine) else {
        return Ok(None);
    };
    let Some(f) = tree.files.get(path) else {
        return Ok(None);
    };
    let file = SourceFile::new(path, String::from_utf8_lossy(&f.contents).into_owned());
    parse(engine, &file).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_requests_are_denied_with_a_reason() {
        let acl = parse(
            Engine::Mosquitto,
            &SourceFile::new("acl", "topic readwrite #\n"),
        )
        .unwrap();
        let who = Who::new(None, "c");
        let d = decide(&acl, &who, Access::Write, "a/+");
        assert!(!d.allowed && d.rule.is_none());
        assert!(d.note.unwrap().contains("wildcards"));
        assert!(!decide(&acl, &who, Access::Read, "a/#/b").allowed);
        assert!(decide(&acl, &who, Access::Read, "a/#").allowed);
    }

    #[test]
    fn rumqttd_has_no_acl() {
        assert_eq!(rendered_path(Engine::Rumqttd), None);
        assert!(parse(Engine::Rumqttd, &SourceFile::new("x", "")).is_err());
    }
}
