//! A person's verdicts, resolved against one rule set for the hot path: which
//! signatures and paths "cannot work here", which sources are allowed, blocked or
//! acknowledged.

use crate::Why;
use ipnet::IpNet;
use scantriage_core::{
    glob_match, PersonAction, PersonVerdict, SignatureIndex, Suppressions, VerdictScope,
};
use scantriage_detect::RuleSet;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Returns a `'static` copy of `text`, leaking each distinct text once (bounded by the
/// number of distinct verdicts ever loaded), so that [`Why`] stays `Copy`.
fn intern(text: String) -> &'static str {
    static TEXTS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut texts = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = texts.iter().find(|t| **t == text) {
        return t;
    }
    let t: &'static str = Box::leak(text.into_boxed_str());
    texts.push(t);
    t
}

/// The active verdicts of people, ready for analysis.
#[derive(Debug, Clone, Default)]
pub struct PersonVerdicts {
    suppressions: Suppressions,
    /// Some cannot-work verdict marks a signature or a path.
    suppressing: bool,
    /// Per signature index: the reason when a cannot-work verdict marks it (by id or target).
    by_sig: Vec<Option<&'static str>>,
    /// Lowercased path patterns and their reasons.
    paths: Vec<(String, &'static str)>,
    allow: Vec<IpNet>,
    block: Vec<PersonVerdict>,
    ack_sources: Vec<IpNet>,
    ack_signatures: Vec<String>,
}

impl PersonVerdicts {
    /// Resolves the active verdicts among `verdicts` (revoked ones are ignored) against `rules`.
    pub fn new(verdicts: &[PersonVerdict], rules: &RuleSet) -> PersonVerdicts {
        let active: Vec<PersonVerdict> =
            verdicts.iter().filter(|v| v.is_active()).cloned().collect();
        let suppressions = Suppressions::from_verdicts(&active).with_signature_targets(
            rules
                .signatures()
                .iter()
                .map(|s| (s.id.clone(), s.targets.clone())),
        );
        let mut reasons: HashMap<i64, &'static str> = HashMap::new();
        let mut reason = |id: i64| {
            *reasons
                .entry(id)
                .or_insert_with(|| intern(suppressions.reason(id)))
        };
        let by_sig = rules
            .signatures()
            .iter()
            .map(|s| suppressions.signature(&s.id, &s.targets).map(&mut reason))
            .collect();
        let mut out = PersonVerdicts {
            by_sig,
            ..Default::default()
        };
        let mut sorted = active;
        sorted.sort_by_key(|v| (v.at_ms, v.id));
        for v in sorted {
            match (v.action, &v.scope) {
                (PersonAction::CannotWork, VerdictScope::Path(p)) => {
                    out.paths.push((p.to_ascii_lowercase(), reason(v.id)))
                }
                (PersonAction::Allow, VerdictScope::Source(n)) => out.allow.push(*n),
                (PersonAction::Block, VerdictScope::Source(_)) => out.block.push(v),
                (PersonAction::Acknowledge, VerdictScope::Source(n)) => out.ack_sources.push(*n),
                (PersonAction::Acknowledge, VerdictScope::Signature(s)) => {
                    out.ack_signatures.push(s.clone())
                }
                _ => {}
            }
        }
        out.suppressions = suppressions;
        out.suppressing = !out.paths.is_empty() || out.by_sig.iter().any(Option::is_some);
        out
    }

    /// True when there is nothing to suppress (the hot path then skips the check).
    pub fn suppresses_nothing(&self) -> bool {
        !self.suppressing
    }

    /// True when some cannot-work verdict is a path pattern (the caller then passes the path).
    pub fn needs_path(&self) -> bool {
        !self.paths.is_empty()
    }

    /// The reason to turn a finding into noise when a cannot-work verdict covers it: its
    /// normalised path matches a pattern, or every one of its deciding signatures is marked.
    pub fn suppression(&self, matched: &[SignatureIndex], path: Option<&[u8]>) -> Option<Why> {
        if let Some(path) = path.filter(|_| !self.paths.is_empty()) {
            let text = String::from_utf8_lossy(path);
            if let Some((_, r)) = self.paths.iter().find(|(p, _)| glob_match(p, &text)) {
                return Some(Why::Marked(r));
            }
        }
        let mut first = None;
        for &i in matched {
            let r = self.by_sig.get(i as usize).copied().flatten()?;
            first.get_or_insert(r);
        }
        first.map(Why::Marked)
    }

    /// The suppressions, with the rule set's signature targets (for the stored findings).
    pub fn suppressions(&self) -> &Suppressions {
        &self.suppressions
    }

    /// The networks a person allowed (never blocked).
    pub fn allowed(&self) -> &[IpNet] {
        &self.allow
    }

    /// The oldest active block verdict covering `ip`.
    pub fn block_for(&self, ip: IpAddr) -> Option<&PersonVerdict> {
        self.block.iter().find(|v| v.scope.contains_source(ip))
    }

    /// True when a person acknowledged this source (it leaves the queue).
    pub fn source_acknowledged(&self, ip: IpAddr) -> bool {
        self.ack_sources.iter().any(|n| n.contains(&ip))
    }

    /// True when a person acknowledged this signature (its findings leave the queue).
    pub fn signature_acknowledged(&self, id: &str) -> bool {
        self.ack_signatures.iter().any(|s| s == id)
    }
}

/// The reason a person's block carries: `blocked by AUTHOR at TIME, verdict #ID` (and the note).
pub fn block_reason(v: &PersonVerdict) -> String {
    let mut s = format!("blocked by {} at {}, verdict #{}", v.author, v.at(), v.id);
    if !v.note.is_empty() {
        s.push_str(": ");
        s.push_str(&v.note);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use scantriage_detect::{parse_rule_file, Vocabulary};

    fn rules() -> RuleSet {
        let rule = |id: &str, target: &str, category: &str, path: &str| {
            format!(
                "[[rule]]\nid = \"{id}\"\nname = \"{id}\"\ntargets = [\"{target}\"]\ncategory = \"{category}\"\nseverity = \"high\"\nuri = {{ contains = [\"{path}\"] }}\n[[rule.examples.match]]\nrequest = \"GET {path}\"\n[[rule.examples.no_match]]\nrequest = \"GET /\"\n"
            )
        };
        let text = [
            rule("pma-probe", "phpmyadmin", "recon", "/phpmyadmin"),
            rule("wp-login", "wordpress", "bruteforce", "/wp-login.php"),
        ]
        .concat();
        let (sigs, errs) = parse_rule_file("t.toml", &text, &Vocabulary::default());
        assert!(errs.is_empty(), "{errs:?}");
        RuleSet::new(sigs)
    }

    fn v(id: i64, action: PersonAction, kind: &str, value: &str) -> PersonVerdict {
        PersonVerdict {
            id,
            action,
            scope: VerdictScope::parse(kind, value).unwrap(),
            author: "ann".into(),
            at_ms: 1_700_000_000_000,
            note: String::new(),
            revoked_ms: None,
        }
    }

    #[test]
    fn verdicts_resolve_against_the_rules() {
        let rules = rules();
        let pma = rules
            .signatures()
            .iter()
            .position(|s| s.id == "pma-probe")
            .unwrap() as SignatureIndex;
        let wp = rules
            .signatures()
            .iter()
            .position(|s| s.id == "wp-login")
            .unwrap() as SignatureIndex;
        let mut revoked = v(5, PersonAction::Block, "source", "192.0.2.9");
        revoked.revoked_ms = Some(1);
        let p = PersonVerdicts::new(
            &[
                v(1, PersonAction::CannotWork, "target", "phpmyadmin"),
                v(2, PersonAction::CannotWork, "path", "/cgi-bin/*"),
                v(3, PersonAction::Allow, "source", "198.51.100.0/24"),
                v(4, PersonAction::Block, "source", "203.0.113.7"),
                revoked,
                v(6, PersonAction::Acknowledge, "signature", "wp-login"),
            ],
            &rules,
        );
        assert!(!p.suppresses_nothing());
        let Some(Why::Marked(r)) = p.suppression(&[pma], Some(b"/phpmyadmin/")) else {
            panic!("phpMyAdmin probes are marked");
        };
        assert!(r.ends_with("verdict #1"), "{r}");
        assert_eq!(p.suppression(&[pma, wp], Some(b"/x")), None);
        assert_eq!(p.suppression(&[wp], None), None);
        let Some(Why::Marked(r)) = p.suppression(&[wp], Some(b"/cgi-bin/a.cgi")) else {
            panic!("path pattern applies");
        };
        assert!(r.ends_with("verdict #2"), "{r}");
        assert!(p.allowed()[0].contains(&"198.51.100.7".parse::<IpAddr>().unwrap()));
        assert_eq!(p.block_for("203.0.113.7".parse().unwrap()).unwrap().id, 4);
        assert!(
            p.block_for("192.0.2.9".parse().unwrap()).is_none(),
            "revoked"
        );
        assert!(p.signature_acknowledged("wp-login"));
        assert!(!p.source_acknowledged("203.0.113.7".parse().unwrap()));
        assert_eq!(
            block_reason(p.block_for("203.0.113.7".parse().unwrap()).unwrap()),
            "blocked by ann at 2023-11-14T22:13:20Z, verdict #4"
        );
        assert!(PersonVerdicts::new(&[], &rules).suppresses_nothing());
    }
}
