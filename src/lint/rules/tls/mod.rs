//! Rules of the TLS area, and the listener helpers the TLS and AUTH rules share.

pub use crate::facts::ciphers;
pub mod mq_tls_001_plaintext_listener;
pub mod mq_tls_002_old_tls_version;
pub mod mq_tls_003_unusable_cipher_list;
pub mod mq_tls_004_weak_cipher_suite;
pub mod mq_tls_005_client_certs_not_required;
pub mod mq_tls_006_identity_without_client_cert;

use crate::facts::{Facts, ListenerFact};
use crate::lint::Rule;
use crate::source::Span;

pub const RULES: &[Rule] = &[
    mq_tls_001_plaintext_listener::RULE,
    mq_tls_002_old_tls_version::RULE,
    mq_tls_003_unusable_cipher_list::RULE,
    mq_tls_004_weak_cipher_suite::RULE,
    mq_tls_005_client_certs_not_required::RULE,
    mq_tls_006_identity_without_client_cert::RULE,
];

/// How a finding names a listener: "listener `devices` (port 8883)", or
/// "the listener on port 8883" when its name is only its port.
pub fn label(l: &ListenerFact) -> String {
    if l.name.is_empty() || l.name == l.port.to_string() {
        format!("the listener on port {}", l.port)
    } else {
        format!("listener `{}` (port {})", l.name, l.port)
    }
}

/// Whether the listener is only reachable from the host itself: a loopback
/// address, `localhost`, or a Unix socket path.
pub fn local_only(l: &ListenerFact) -> bool {
    l.loopback()
        || l.bind
            .as_deref()
            .is_some_and(|b| b == "localhost" || b.starts_with('/'))
}

/// Whether the listener only serves the load balancer's health check: so
/// declared (spec), or (audit) a health check connects to its port while
/// another network listener exists for clients.
pub fn health_check_only(facts: &Facts, l: &ListenerFact) -> bool {
    if l.health_check_only {
        return true;
    }
    let checked = facts.health_checks.iter().any(|h| h.port == Some(l.port));
    let other_network_listener = facts
        .listeners
        .iter()
        .any(|o| o.port != l.port && !local_only(o));
    checked && other_network_listener
}

/// Whether clients beyond the host can reach the listener (not loopback,
/// not a health-check-only listener).
pub fn exposed(facts: &Facts, l: &ListenerFact) -> bool {
    !local_only(l) && !health_check_only(facts, l)
}

/// Where the listener at `index` writes `setting` (`anonymous`, `ciphers_tls13`).
pub fn setting_span<'a>(facts: &'a Facts, index: usize, setting: &str) -> Option<&'a Span> {
    facts
        .tls_auth
        .listener_settings
        .iter()
        .find(|(i, s, _)| *i == index && *s == setting)
        .map(|(_, _, span)| span)
}

/// The part of `span` where `needle` is written (a cipher within a list),
/// or `span` itself when it cannot be found.
pub fn narrow(span: &Span, needle: &str) -> Span {
    if needle.is_empty() {
        return span.clone();
    }
    for line in span.line..=span.end_line.max(span.line) {
        let Some(text) = span.file.line_text(line) else {
            break;
        };
        let chars: Vec<char> = text.chars().collect();
        let from = if line == span.line {
            span.col.saturating_sub(1)
        } else {
            0
        };
        let to = if line == span.end_line {
            span.end_col.saturating_sub(1).min(chars.len())
        } else {
            chars.len()
        };
        let needle: Vec<char> = needle.chars().collect();
        let mut start = from;
        while start + needle.len() <= to {
            let is_word_start = start == 0 || !is_cipher_char(chars[start - 1]);
            let end = start + needle.len();
            let is_word_end = end >= chars.len() || !is_cipher_char(chars[end]);
            if chars[start..end] == needle[..] && is_word_start && is_word_end {
                return Span {
                    file: span.file.clone(),
                    line,
                    col: start + 1,
                    end_line: line,
                    end_col: end + 1,
                };
            }
            start += 1;
        }
    }
    span.clone()
}

fn is_cipher_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '!' | '+' | '@' | '=')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn narrow_finds_a_whole_entry() {
        let f = SourceFile::new("x.conf", "ciphers AES128-SHA:AES128-SHA256:!aNULL\n");
        let span = Span {
            file: f.clone(),
            line: 1,
            col: 9,
            end_line: 1,
            end_col: 40,
        };
        let s = narrow(&span, "AES128-SHA256");
        assert_eq!((s.col, s.end_col), (20, 33));
        let s = narrow(&span, "AES128-SHA");
        assert_eq!((s.col, s.end_col), (9, 19));
        // Not a whole entry: the whole span.
        assert_eq!(narrow(&span, "AES128").col, 9);
        assert_eq!(narrow(&span, "aNULL").col, 9);
    }
}
