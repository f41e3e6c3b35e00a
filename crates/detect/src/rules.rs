//! Rule files: their serde form, validation, and compiled signatures.

use crate::products::{Vocabulary, GENERIC};
use regex::bytes::{Regex, RegexBuilder};
use scantriage_core::{Category, Severity};
use serde::Deserialize;
use std::fmt;

/// A rule that could not be loaded, with the file and line where it starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// File name (or `embedded:NAME`).
    pub file: String,
    /// Line of the rule (or of the syntax error), 1-based; 0 when unknown.
    pub line: usize,
    /// The rule id, when it was readable.
    pub id: Option<String>,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if let Some(id) = &self.id {
            write!(f, "rule `{id}`: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<toml::Value>,
}

/// One field matcher as written in a rule file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatcher {
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    all: Vec<String>,
    #[serde(default)]
    prefix: Vec<String>,
    #[serde(default)]
    suffix: Vec<String>,
    #[serde(default)]
    equals: Vec<String>,
    #[serde(default)]
    not_contains: Vec<String>,
    regex: Option<String>,
}

/// One example request of a rule.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The request line as logged.
    pub request: String,
    /// User-Agent header.
    #[serde(default)]
    pub user_agent: String,
    /// Referer header.
    #[serde(default)]
    pub referer: String,
    /// Response status (default 200).
    #[serde(default = "default_status")]
    pub status: u16,
}

fn default_status() -> u16 {
    200
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExamples {
    #[serde(default, rename = "match")]
    positive: Vec<Example>,
    #[serde(default)]
    no_match: Vec<Example>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    targets: Vec<String>,
    #[serde(default)]
    cves: Vec<String>,
    category: String,
    severity: String,
    #[serde(default)]
    references: Vec<String>,
    method: Option<Vec<String>>,
    status: Option<Vec<u16>>,
    path: Option<RawMatcher>,
    uri: Option<RawMatcher>,
    query: Option<RawMatcher>,
    user_agent: Option<RawMatcher>,
    referer: Option<RawMatcher>,
    request: Option<RawMatcher>,
    any: Option<RawMatcher>,
    #[serde(default)]
    examples: RawExamples,
}

/// A request field a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Decoded, normalised path.
    Path = 0,
    /// Decoded path and query, not normalised.
    Uri = 1,
    /// Decoded query.
    Query = 2,
    /// User-Agent.
    UserAgent = 3,
    /// Referer.
    Referer = 4,
    /// Raw request line.
    Request = 5,
}

impl Field {
    /// Number of fields.
    pub const COUNT: usize = 6;
    /// Every field, in index order.
    pub const ALL: [Field; Field::COUNT] = [
        Field::Path,
        Field::Uri,
        Field::Query,
        Field::UserAgent,
        Field::Referer,
        Field::Request,
    ];
    /// The fields `any` stands for.
    pub const ANY: [Field; 3] = [Field::Uri, Field::UserAgent, Field::Referer];

    /// The name used in rule files.
    pub fn name(self) -> &'static str {
        ["path", "uri", "query", "user_agent", "referer", "request"][self as usize]
    }
}

/// A compiled matcher over one field (or, for `any`, several).
#[derive(Debug, Clone)]
pub(crate) struct Condition {
    pub fields: Vec<Field>,
    pub contains: Vec<Vec<u8>>,
    pub all: Vec<Vec<u8>>,
    pub prefix: Vec<Vec<u8>>,
    pub suffix: Vec<Vec<u8>>,
    pub equals: Vec<Vec<u8>>,
    pub not_contains: Vec<Vec<u8>>,
    pub regex: Option<Regex>,
    /// Prebuilt searchers for `contains`, `all` and `not_contains`, in that order.
    finders: Vec<memchr::memmem::Finder<'static>>,
}

impl Condition {
    /// The literals that must occur for this condition to hold (any one of them).
    pub fn prefilter_literals(&self) -> impl Iterator<Item = &[u8]> {
        self.contains
            .iter()
            .chain(&self.all)
            .chain(&self.prefix)
            .chain(&self.suffix)
            .chain(&self.equals)
            .map(Vec::as_slice)
            .filter(|l| !l.is_empty())
    }

    /// Whether the (lowercased) value satisfies the matcher.
    pub fn holds_on(&self, v: &[u8]) -> bool {
        let (contains, rest) = self.finders.split_at(self.contains.len());
        let (all, not_contains) = rest.split_at(self.all.len());
        let has = |f: &memchr::memmem::Finder<'_>| f.find(v).is_some();
        (contains.is_empty() || contains.iter().any(has))
            && all.iter().all(has)
            && (self.prefix.is_empty() || self.prefix.iter().any(|p| v.starts_with(p)))
            && (self.suffix.is_empty() || self.suffix.iter().any(|s| v.ends_with(s)))
            && (self.equals.is_empty() || self.equals.iter().any(|e| v == e.as_slice()))
            && !not_contains.iter().any(has)
            && self.regex.as_ref().is_none_or(|r| r.is_match(v))
    }
}

/// A loaded, validated signature.
#[derive(Debug, Clone)]
pub struct Signature {
    /// Unique id.
    pub id: String,
    /// Short name.
    pub name: String,
    /// What it recognises and why it matters.
    pub description: String,
    /// Canonical target products (`generic` for any dynamic site).
    pub targets: Vec<String>,
    /// CVE ids it names.
    pub cves: Vec<String>,
    /// What kind of activity it is.
    pub category: Category,
    /// How bad a match is on its own.
    pub severity: Severity,
    /// Links for a person to read.
    pub references: Vec<String>,
    /// Examples that must match.
    pub examples_match: Vec<Example>,
    /// Examples that must not match.
    pub examples_no_match: Vec<Example>,
    /// Where it was loaded from (`file:line`).
    pub origin: String,
    pub(crate) methods: Vec<Vec<u8>>,
    pub(crate) status: Vec<u16>,
    pub(crate) conditions: Vec<Condition>,
}

impl Signature {
    /// True when the only target is `generic`.
    pub fn is_generic(&self) -> bool {
        self.targets.iter().all(|t| t == GENERIC)
    }
}

fn lower(v: Vec<String>) -> Vec<Vec<u8>> {
    v.into_iter()
        .map(|s| s.to_ascii_lowercase().into_bytes())
        .collect()
}

fn compile_matcher(fields: Vec<Field>, m: RawMatcher) -> Result<Condition, String> {
    let name = fields.first().map_or("any", |f| f.name());
    let regex = match m.regex {
        Some(r) => Some(
            RegexBuilder::new(&r)
                .case_insensitive(true)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| format!("bad regex in `{name}`: {e}"))?,
        ),
        None => None,
    };
    let mut c = Condition {
        fields,
        contains: lower(m.contains),
        all: lower(m.all),
        prefix: lower(m.prefix),
        suffix: lower(m.suffix),
        equals: lower(m.equals),
        not_contains: lower(m.not_contains),
        regex,
        finders: Vec::new(),
    };
    c.finders = c
        .contains
        .iter()
        .chain(&c.all)
        .chain(&c.not_contains)
        .map(|l| memchr::memmem::Finder::new(l).into_owned())
        .collect();
    if c.contains.iter().chain(&c.all).any(Vec::is_empty) {
        return Err(format!("empty literal in `{name}`"));
    }
    Ok(c)
}

fn line_of_rule(text: &str, index: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("[[rule]]"))
        .nth(index)
        .map_or(0, |(n, _)| n + 1)
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Parses one rule file; returns the signatures that loaded and an error per bad rule.
pub fn parse_rule_file(
    file: &str,
    text: &str,
    vocab: &Vocabulary,
) -> (Vec<Signature>, Vec<RuleError>) {
    let mut errors = Vec::new();
    let parsed: RuleFile = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => {
            let line = e.span().map_or(0, |s| line_of_offset(text, s.start));
            errors.push(RuleError {
                file: file.to_string(),
                line,
                id: None,
                message: format!("not a valid rule file: {}", e.message()),
            });
            return (Vec::new(), errors);
        }
    };
    let mut out = Vec::new();
    for (i, value) in parsed.rule.into_iter().enumerate() {
        let line = line_of_rule(text, i);
        let id = value.get("id").and_then(|v| v.as_str()).map(str::to_string);
        let err = |message: String| RuleError {
            file: file.to_string(),
            line,
            id: id.clone(),
            message,
        };
        let raw: RawRule = match value.try_into() {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(e.message().to_string()));
                continue;
            }
        };
        match compile_rule(raw, vocab, format!("{file}:{line}")) {
            Ok(sig) => out.push(sig),
            Err(m) => errors.push(err(m)),
        }
    }
    (out, errors)
}

fn compile_rule(raw: RawRule, vocab: &Vocabulary, origin: String) -> Result<Signature, String> {
    if raw.id.is_empty()
        || !raw
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("id must be non-empty and use only a-z, 0-9 and `-`".into());
    }
    let category: Category = raw.category.parse()?;
    let severity: Severity = raw.severity.parse()?;
    if raw.targets.is_empty() {
        return Err("`targets` is empty: name at least one product, or `generic`".into());
    }
    let mut targets = Vec::new();
    for t in &raw.targets {
        let c = vocab.canonical(t).ok_or_else(|| {
            format!("unknown target `{t}` (see the product vocabulary in rules/README.md)")
        })?;
        if !targets.iter().any(|x| x == c) {
            targets.push(c.to_string());
        }
    }
    for c in &raw.cves {
        let ok = c.starts_with("CVE-")
            && c[4..].split_once('-').is_some_and(|(y, n)| {
                y.len() == 4
                    && n.len() >= 4
                    && (y.bytes().chain(n.bytes())).all(|b| b.is_ascii_digit())
            });
        if !ok {
            return Err(format!("bad CVE id `{c}`, expected CVE-YYYY-NNNN"));
        }
    }
    let mut conditions = Vec::new();
    let fields = [
        (Field::Path, raw.path),
        (Field::Uri, raw.uri),
        (Field::Query, raw.query),
        (Field::UserAgent, raw.user_agent),
        (Field::Referer, raw.referer),
        (Field::Request, raw.request),
    ];
    for (f, m) in fields {
        if let Some(m) = m {
            conditions.push(compile_matcher(vec![f], m)?);
        }
    }
    if let Some(m) = raw.any {
        conditions.push(compile_matcher(Field::ANY.to_vec(), m)?);
    }
    if !conditions
        .iter()
        .any(|c| c.prefilter_literals().next().is_some())
    {
        return Err("no literal to prefilter on: give at least one `contains`, `all`, `prefix`, `suffix` or `equals`".into());
    }
    if raw.examples.positive.is_empty() || raw.examples.no_match.is_empty() {
        return Err("needs at least one `examples.match` and one `examples.no_match`".into());
    }
    Ok(Signature {
        id: raw.id,
        name: raw.name,
        description: raw.description,
        targets,
        cves: raw.cves,
        category,
        severity,
        references: raw.references,
        examples_match: raw.examples.positive,
        examples_no_match: raw.examples.no_match,
        origin,
        methods: raw
            .method
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.to_ascii_uppercase().into_bytes())
            .collect(),
        status: raw.status.unwrap_or_default(),
        conditions,
    })
}
