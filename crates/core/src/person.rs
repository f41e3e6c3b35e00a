//! A person's verdicts: what someone decided about a signature, a target, a path or a
//! source, and the suppressions that "cannot work here" verdicts become.
//!
//! Verdicts are data, kept in the store with their author and time; assessment reads the
//! active ones at the start of a run. [`Suppressions`] lives here rather than in the
//! assessment crate because the store applies it to stored findings, and the store
//! depends on nothing but this crate.

use crate::Timestamp;
use ipnet::IpNet;
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// What a person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonAction {
    /// The probe cannot work here: its findings become `noise`.
    CannotWork,
    /// Block the source.
    Block,
    /// Never block the source (extends the allowlist).
    Allow,
    /// Seen and understood: leaves the triage queue.
    Acknowledge,
}

impl PersonAction {
    /// Every action, in declaration order.
    pub const ALL: [PersonAction; 4] = [
        PersonAction::CannotWork,
        PersonAction::Block,
        PersonAction::Allow,
        PersonAction::Acknowledge,
    ];

    /// The word used in the store and in output: `cannot_work`, `block`, `allow`, `acknowledge`.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonAction::CannotWork => "cannot_work",
            PersonAction::Block => "block",
            PersonAction::Allow => "allow",
            PersonAction::Acknowledge => "acknowledge",
        }
    }

    /// The scope kinds this action may apply to.
    pub fn allowed_scopes(self) -> &'static [&'static str] {
        match self {
            PersonAction::CannotWork => &["signature", "target", "path"],
            PersonAction::Block | PersonAction::Allow => &["source"],
            PersonAction::Acknowledge => &["source", "signature"],
        }
    }

    /// Checks that this action may apply to `scope`, with an error naming both.
    pub fn check_scope(self, scope: &VerdictScope) -> Result<(), VerdictError> {
        if self.allowed_scopes().contains(&scope.kind()) {
            Ok(())
        } else {
            Err(VerdictError::ScopeNotAllowed {
                action: self,
                kind: scope.kind(),
            })
        }
    }
}

impl fmt::Display for PersonAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PersonAction {
    type Err = VerdictError;

    /// Accepts the stored word and its dashed form (`cannot-work`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cannot_work" | "cannot-work" => Ok(PersonAction::CannotWork),
            "block" => Ok(PersonAction::Block),
            "allow" => Ok(PersonAction::Allow),
            "acknowledge" => Ok(PersonAction::Acknowledge),
            _ => Err(VerdictError::UnknownAction(s.to_string())),
        }
    }
}

/// What a person's verdict applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VerdictScope {
    /// One signature, by id.
    Signature(String),
    /// Every signature aimed at one product (a signature target, e.g. `phpmyadmin`).
    Target(String),
    /// A glob pattern over the normalised (decoded, lowercased) request path; `*`
    /// matches any run of characters, `/` included.
    Path(String),
    /// A source address or network.
    Source(IpNet),
}

impl VerdictScope {
    /// Every scope kind, as text.
    pub const KINDS: [&'static str; 4] = ["signature", "target", "path", "source"];

    /// The kind as text: `signature`, `target`, `path` or `source`.
    pub fn kind(&self) -> &'static str {
        match self {
            VerdictScope::Signature(_) => "signature",
            VerdictScope::Target(_) => "target",
            VerdictScope::Path(_) => "path",
            VerdictScope::Source(_) => "source",
        }
    }

    /// The value as text (a source network in canonical `addr/prefix` form).
    pub fn value(&self) -> String {
        match self {
            VerdictScope::Signature(s) | VerdictScope::Target(s) | VerdictScope::Path(s) => {
                s.clone()
            }
            VerdictScope::Source(n) => n.to_string(),
        }
    }

    /// Parses a scope from its kind and value. A source may be a bare address (a /32 or
    /// /128) or a network; other values must be non-empty and a path must start with `/`
    /// or `*`.
    pub fn parse(kind: &str, value: &str) -> Result<VerdictScope, VerdictError> {
        let bad = |why: &'static str| VerdictError::BadScope {
            kind: kind.to_string(),
            value: value.to_string(),
            why,
        };
        let v = value.trim();
        if v.is_empty() {
            return Err(bad("the value is empty"));
        }
        if v.chars().any(char::is_control) {
            return Err(bad("the value contains control characters"));
        }
        match kind {
            "signature" => Ok(VerdictScope::Signature(v.to_string())),
            "target" => Ok(VerdictScope::Target(v.to_ascii_lowercase())),
            "path" if v.starts_with('/') || v.starts_with('*') => {
                Ok(VerdictScope::Path(v.to_ascii_lowercase()))
            }
            "path" => Err(bad("a path pattern starts with `/` or `*`")),
            "source" => {
                if let Ok(net) = v.parse::<IpNet>() {
                    Ok(VerdictScope::Source(net.trunc()))
                } else if let Ok(ip) = v.parse::<IpAddr>() {
                    Ok(VerdictScope::Source(IpNet::from(ip)))
                } else {
                    Err(bad("not an IP address or network (addr/prefix)"))
                }
            }
            _ => Err(VerdictError::UnknownScope(kind.to_string())),
        }
    }

    /// True when this is a source scope containing `ip`.
    pub fn contains_source(&self, ip: IpAddr) -> bool {
        matches!(self, VerdictScope::Source(n) if n.contains(&ip))
    }
}

impl fmt::Display for VerdictScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind(), self.value())
    }
}

/// A person's verdict as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonVerdict {
    /// Its id in the store.
    pub id: i64,
    /// What was decided.
    pub action: PersonAction,
    /// What it applies to.
    pub scope: VerdictScope,
    /// Who decided.
    pub author: String,
    /// When, in milliseconds since the epoch.
    pub at_ms: i64,
    /// Free text from the author (may be empty).
    pub note: String,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

impl PersonVerdict {
    /// True while not revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_ms.is_none()
    }

    /// When it was made, as a UTC timestamp.
    pub fn at(&self) -> Timestamp {
        Timestamp {
            unix_ms: self.at_ms,
            offset_min: 0,
        }
    }

    /// The sentence a suppressed finding carries: `marked cannot work here by AUTHOR at TIME, verdict #ID`.
    pub fn reason(&self) -> String {
        format!(
            "marked cannot work here by {} at {}, verdict #{}",
            self.author,
            self.at(),
            self.id
        )
    }
}

impl serde::Serialize for PersonVerdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("PersonVerdict", 9)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("action", &self.action)?;
        st.serialize_field("scope_kind", self.scope.kind())?;
        st.serialize_field("scope", &self.scope.value())?;
        st.serialize_field("author", &self.author)?;
        st.serialize_field("at", &self.at())?;
        st.serialize_field("note", &self.note)?;
        st.serialize_field(
            "revoked",
            &self.revoked_ms.map(|ms| Timestamp {
                unix_ms: ms,
                offset_min: 0,
            }),
        )?;
        st.serialize_field("active", &self.is_active())?;
        st.end()
    }
}

/// A verdict that cannot be built: unknown words, a bad value, or an action that does not apply to the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerdictError {
    /// The action word is not one of `cannot_work`, `block`, `allow`, `acknowledge`.
    UnknownAction(String),
    /// The scope kind is not one of `signature`, `target`, `path`, `source`.
    UnknownScope(String),
    /// The scope value does not parse.
    BadScope {
        /// The scope kind.
        kind: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The action does not apply to this kind of scope.
    ScopeNotAllowed {
        /// The action.
        action: PersonAction,
        /// The scope kind.
        kind: &'static str,
    },
}

impl fmt::Display for VerdictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerdictError::UnknownAction(a) => write!(
                f,
                "unknown verdict action {a:?} (expected cannot_work, block, allow or acknowledge)"
            ),
            VerdictError::UnknownScope(k) => write!(
                f,
                "unknown verdict scope {k:?} (expected signature, target, path or source)"
            ),
            VerdictError::BadScope { kind, value, why } => {
                write!(f, "bad {kind} scope {value:?}: {why}")
            }
            VerdictError::ScopeNotAllowed { action, kind } => write!(
                f,
                "a {action} verdict cannot apply to a {kind} (it applies to: {})",
                action.allowed_scopes().join(", ")
            ),
        }
    }
}

impl std::error::Error for VerdictError {}

/// True when `text` matches the glob `pattern`, where `*` matches any run of characters
/// (`/` included) and everything else matches itself, ASCII case ignored.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// The path of a stored request text (`METHOD TARGET`): the target up to `?`, lowercased.
/// A request that is not HTTP yields its whole text, lowercased.
pub fn request_path(request: &str) -> String {
    let target = match request.split_once(' ') {
        Some((_, rest)) => rest.split(' ').next().unwrap_or(rest),
        None => request,
    };
    let path = target.split('?').next().unwrap_or(target);
    path.to_ascii_lowercase()
}

/// The active "cannot work here" verdicts, ready to test findings against.
///
/// A finding is covered when its path matches a path pattern, when the given target is
/// marked, or when *every* signature that decided it is marked (by id, or through a
/// marked target of that signature). A finding decided by a marked signature and an
/// unmarked one therefore stays as it was: the other signature may still matter.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    signatures: HashMap<String, i64>,
    targets: HashMap<String, i64>,
    paths: Vec<(String, i64)>,
    signature_targets: HashMap<String, Vec<String>>,
    reasons: HashMap<i64, String>,
}

impl Suppressions {
    /// Suppressions from the active cannot-work verdicts among `verdicts` (others are
    /// ignored); when several cover the same thing the oldest is named.
    pub fn from_verdicts(verdicts: &[PersonVerdict]) -> Suppressions {
        let mut sorted: Vec<&PersonVerdict> = verdicts
            .iter()
            .filter(|v| v.is_active() && v.action == PersonAction::CannotWork)
            .collect();
        sorted.sort_by_key(|v| (v.at_ms, v.id));
        let mut s = Suppressions::default();
        for v in sorted {
            match &v.scope {
                VerdictScope::Signature(id) => {
                    s.signatures.entry(id.clone()).or_insert(v.id);
                }
                VerdictScope::Target(t) => {
                    s.targets.entry(t.to_ascii_lowercase()).or_insert(v.id);
                }
                VerdictScope::Path(p) => s.paths.push((p.to_ascii_lowercase(), v.id)),
                VerdictScope::Source(_) => continue,
            }
            s.reasons.insert(v.id, v.reason());
        }
        s
    }

    /// Adds which targets each signature aims at (from the rule set), so that a target
    /// verdict covers stored findings, which record signature ids only.
    pub fn with_signature_targets<I, S>(mut self, pairs: I) -> Suppressions
    where
        I: IntoIterator<Item = (S, Vec<String>)>,
        S: Into<String>,
    {
        if !self.targets.is_empty() {
            for (id, targets) in pairs {
                self.signature_targets.insert(id.into(), targets);
            }
        }
        self
    }

    /// True when there is nothing to suppress.
    pub fn is_empty(&self) -> bool {
        self.signatures.is_empty() && self.targets.is_empty() && self.paths.is_empty()
    }

    /// True when some verdict is a path pattern (callers then need the path).
    pub fn has_paths(&self) -> bool {
        !self.paths.is_empty()
    }

    /// The verdict that marks this signature, directly or through one of `targets`.
    pub fn signature(&self, id: &str, targets: &[String]) -> Option<i64> {
        if let Some(&v) = self.signatures.get(id) {
            return Some(v);
        }
        let known = self.signature_targets.get(id).map(Vec::as_slice);
        targets
            .iter()
            .chain(known.unwrap_or_default())
            .find_map(|t| self.target(t))
    }

    /// The verdict that marks this target.
    pub fn target(&self, target: &str) -> Option<i64> {
        if self.targets.is_empty() {
            return None;
        }
        self.targets
            .get(target)
            .or_else(|| self.targets.get(&target.to_ascii_lowercase()))
            .copied()
    }

    /// The verdict whose pattern matches this (normalised) path.
    pub fn path(&self, path: &str) -> Option<i64> {
        self.paths
            .iter()
            .find(|(p, _)| glob_match(p, path))
            .map(|&(_, id)| id)
    }

    /// The verdict that covers a finding with these deciding signatures, target and path, if any.
    pub fn suppresses<S: AsRef<str>>(
        &self,
        signature_ids: &[S],
        target: Option<&str>,
        path: &str,
    ) -> Option<i64> {
        if self.is_empty() {
            return None;
        }
        if let Some(id) = self.path(path) {
            return Some(id);
        }
        if let Some(id) = target.and_then(|t| self.target(t)) {
            return Some(id);
        }
        let mut first = None;
        for s in signature_ids {
            let id = self.signature(s.as_ref(), &[])?;
            first.get_or_insert(id);
        }
        first
    }

    /// The sentence naming verdict `id` (`marked cannot work here by ... verdict #ID`).
    pub fn reason(&self, id: i64) -> String {
        self.reasons
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("marked cannot work here, verdict #{id}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(id: i64, action: PersonAction, kind: &str, value: &str) -> PersonVerdict {
        PersonVerdict {
            id,
            action,
            scope: VerdictScope::parse(kind, value).unwrap(),
            author: "ann".into(),
            at_ms: 1_700_000_000_000 + id,
            note: String::new(),
            revoked_ms: None,
        }
    }

    #[test]
    fn words_round_trip() {
        for a in PersonAction::ALL {
            assert_eq!(a.as_str().parse::<PersonAction>().unwrap(), a);
        }
        assert_eq!(
            "cannot-work".parse::<PersonAction>().unwrap(),
            PersonAction::CannotWork
        );
        assert!("ban".parse::<PersonAction>().is_err());
        for (k, v) in [
            ("signature", "phpmyadmin-probe"),
            ("target", "wordpress"),
            ("path", "/phpmyadmin/*"),
            ("source", "192.0.2.0/24"),
            ("source", "2001:db8::1/128"),
        ] {
            let s = VerdictScope::parse(k, v).unwrap();
            assert_eq!((s.kind(), s.value().as_str()), (k, v));
        }
        assert_eq!(
            VerdictScope::parse("source", "192.0.2.7").unwrap().value(),
            "192.0.2.7/32"
        );
        assert_eq!(
            VerdictScope::parse("source", "192.0.2.7/24")
                .unwrap()
                .value(),
            "192.0.2.0/24"
        );
        let e = VerdictScope::parse("source", "nope").unwrap_err();
        assert!(e.to_string().contains("\"nope\""), "{e}");
        assert!(VerdictScope::parse("path", "phpmyadmin").is_err());
        assert!(VerdictScope::parse("host", "x").is_err());
        assert!(VerdictScope::parse("signature", " ").is_err());
    }

    #[test]
    fn actions_apply_only_to_their_scopes() {
        let sig = VerdictScope::parse("signature", "x").unwrap();
        let src = VerdictScope::parse("source", "192.0.2.1").unwrap();
        let path = VerdictScope::parse("path", "/a").unwrap();
        assert!(PersonAction::CannotWork.check_scope(&sig).is_ok());
        assert!(PersonAction::CannotWork.check_scope(&path).is_ok());
        assert!(PersonAction::CannotWork.check_scope(&src).is_err());
        assert!(PersonAction::Block.check_scope(&src).is_ok());
        assert!(PersonAction::Allow.check_scope(&sig).is_err());
        assert!(PersonAction::Acknowledge.check_scope(&sig).is_ok());
        assert!(PersonAction::Acknowledge.check_scope(&src).is_ok());
        let e = PersonAction::Block.check_scope(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a block verdict cannot apply to a path (it applies to: source)"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("/phpmyadmin/*", "/phpmyadmin/index.php"));
        assert!(glob_match("/phpmyadmin/*", "/phpmyadmin/"));
        assert!(!glob_match("/phpmyadmin/*", "/phpmyadmin"));
        assert!(glob_match("*.php", "/a/b/c.php"));
        assert!(glob_match("/a*b*c", "/aXXbYYc"));
        assert!(!glob_match("/a*b*c", "/aXXbYYd"));
        assert!(glob_match("/PMA*", "/pma2020"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("/x", "/xy"));
    }

    #[test]
    fn suppressions_cover_all_deciding_signatures() {
        let mut revoked = verdict(9, PersonAction::CannotWork, "signature", "b");
        revoked.revoked_ms = Some(1);
        let vs = [
            verdict(1, PersonAction::CannotWork, "signature", "a"),
            verdict(2, PersonAction::CannotWork, "target", "phpmyadmin"),
            verdict(3, PersonAction::CannotWork, "path", "/cgi-bin/*"),
            verdict(4, PersonAction::Block, "source", "192.0.2.1"),
            revoked,
        ];
        let s = Suppressions::from_verdicts(&vs)
            .with_signature_targets([("pma-setup", vec!["phpmyadmin".to_string()])]);
        assert_eq!(s.suppresses(&["a"], None, "/x"), Some(1));
        assert_eq!(
            s.suppresses(&["a", "b"], None, "/x"),
            None,
            "b is not marked"
        );
        assert_eq!(s.suppresses(&["b"], None, "/x"), None, "revoked");
        assert_eq!(s.suppresses(&["pma-setup"], None, "/x"), Some(2));
        assert_eq!(s.suppresses(&["a", "pma-setup"], None, "/x"), Some(1));
        assert_eq!(s.suppresses::<&str>(&[], Some("PhpMyAdmin"), "/x"), Some(2));
        assert_eq!(s.suppresses(&["b"], None, "/cgi-bin/test.cgi"), Some(3));
        assert_eq!(s.suppresses::<&str>(&[], None, "/x"), None);
        assert!(s
            .reason(2)
            .starts_with("marked cannot work here by ann at 2023-"));
        assert!(s.reason(2).ends_with(", verdict #2"));
        assert!(Suppressions::from_verdicts(&vs[3..]).is_empty());
    }

    #[test]
    fn request_paths() {
        assert_eq!(request_path("GET /PMA/index.php?x=1"), "/pma/index.php");
        assert_eq!(request_path("POST /a 200"), "/a");
        assert_eq!(request_path("\\x16\\x03"), "\\x16\\x03");
    }
}
