//! The verdict of one request, from its signatures, the inventory and the answer.

use crate::Inventory;
use scantriage_core::{Category, HttpRequest, Severity, SignatureIndex, Verdict};
use scantriage_detect::{RuleSet, Signature};
use std::collections::HashMap;

/// A CVE named by a signature that affects the installed version of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VulnMatch {
    /// The CVE id.
    pub cve: String,
    /// The affected product.
    pub product: String,
    /// The installed version.
    pub installed: String,
    /// The package it comes from, when packaged.
    pub package: Option<String>,
    /// The version that fixes it, when one is known.
    pub fixed: Option<String>,
    /// The CVE is in the CISA Known Exploited Vulnerabilities catalog.
    pub known_exploited: bool,
    /// The explanation carried by [`Why::VulnerableVersion`].
    pub reason: &'static str,
}

impl VulnMatch {
    /// A match, with its explanation built once. The text is leaked on purpose so that
    /// [`Why`] stays `Copy` and the hot path allocates nothing: this is done once per
    /// vulnerable signature at startup, a bounded amount.
    pub fn new(
        cve: &str,
        product: &str,
        installed: &str,
        package: Option<&str>,
        fixed: Option<&str>,
        known_exploited: bool,
    ) -> VulnMatch {
        let pkg = package.map_or(String::new(), |p| format!(" (package {p})"));
        let fix = fixed.map_or("no fixed version known yet".to_string(), |f| {
            format!("fixed in {f}: upgrade")
        });
        let kev = if known_exploited {
            " (known exploited, CISA KEV)"
        } else {
            ""
        };
        let reason = format!(
            "probe for {cve}{kev}, which affects {product} {installed} installed here{pkg}; {fix}"
        );
        VulnMatch {
            cve: cve.into(),
            product: product.into(),
            installed: installed.into(),
            package: package.map(str::to_string),
            fixed: fixed.map(str::to_string),
            known_exploited,
            reason: Box::leak(reason.into_boxed_str()),
        }
    }
}

/// Why a request got its verdict (a fixed vocabulary, so the hot path allocates nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Why {
    /// No signature and nothing suspicious.
    Ordinary,
    /// A known crawler.
    Crawler,
    /// A scanning tool's fingerprint, aimed at nothing this server runs.
    ScannerFingerprint,
    /// A scanning tool aimed at a product this server runs.
    ScannerForInstalled,
    /// Looked for something and got no success answer.
    ProbeGotNothing,
    /// Looked for an installed product (or a generic page on a dynamic site) and found it.
    ProbeFoundInstalled,
    /// Got a success answer for a product the inventory does not list.
    SuccessForUnlisted,
    /// A secret-file probe got a success answer: possible leak.
    SecretAnswered,
    /// A probe or exploit for software this server does not run.
    AbsentSoftware,
    /// A generic attack against a static site.
    GenericOnStatic,
    /// Login attempt against an installed product.
    LoginAttempt,
    /// An exploit payload that could work here.
    ExploitCouldWork,
    /// An exploit for an installed product got a success answer: possible compromise.
    ExploitAnswered,
    /// No signature, but a heuristic found it suspicious.
    Suspicious(&'static str),
    /// A relevant probe for a CVE that affects the installed version (the text names
    /// the CVE, the installed version and the fixing version).
    VulnerableVersion(&'static str),
    /// A person marked it "cannot work here" (the text names who, when and the verdict).
    Marked(&'static str),
}

impl Why {
    /// The explanation in words.
    pub fn text(self) -> &'static str {
        match self {
            Why::Ordinary => "ordinary request",
            Why::Crawler => "known crawler",
            Why::ScannerFingerprint => "scanning tool fingerprint; nothing it targets runs here",
            Why::ScannerForInstalled => "scanning tool aimed at software this server runs",
            Why::ProbeGotNothing => "probe got no success answer: it obtained nothing",
            Why::ProbeFoundInstalled => "probe found software this server runs",
            Why::SuccessForUnlisted => {
                "success answer for software the inventory does not list: check the inventory"
            }
            Why::SecretAnswered => "secret-file probe got a success answer: possible leak",
            Why::AbsentSoftware => "aimed at software this server does not run",
            Why::GenericOnStatic => "generic web attack against a static site",
            Why::LoginAttempt => "login attempt on software this server runs",
            Why::ExploitCouldWork => "exploit payload that could work here",
            Why::ExploitAnswered => {
                "exploit for software this server runs got a success answer: possible compromise"
            }
            Why::Suspicious(s) | Why::VulnerableVersion(s) | Why::Marked(s) => s,
        }
    }
}

/// The outcome for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// The verdict.
    pub verdict: Verdict,
    /// The strongest category among the deciding signatures (recon when none).
    pub category: Category,
    /// The severity of the deciding signature (info when none).
    pub severity: Severity,
    /// Why.
    pub why: Why,
}

/// Gives requests their verdicts against one inventory.
#[derive(Debug)]
pub struct Assessor<'a> {
    rules: &'a RuleSet,
    inventory: &'a Inventory,
    vulnerable: Option<&'a HashMap<SignatureIndex, VulnMatch>>,
}

/// Where a server hands out files of its users or repositories by name: an authenticated
/// WebDAV store (Nextcloud, ownCloud) or a Git forge's views of a repository (Gitea,
/// Forgejo, GitLab). A file there named like a secret or a product's page (a synced
/// project's `.env` or `.DS_Store`, a repository's `docker-compose.yml`) is content its
/// owner asked for, not this server's own configuration.
const CONTENT_PREFIXES: &[&[u8]] = &[
    b"/remote.php/dav/",
    b"/remote.php/webdav/",
    b"/public.php/dav/",
    b"/public.php/webdav/",
    b"/api/v1/repos/",
];

/// Path segments of a Git forge's repository views (see [`CONTENT_PREFIXES`]).
const CONTENT_SEGMENTS: &[&[u8]] = &[
    b"/src/branch/",
    b"/src/commit/",
    b"/src/tag/",
    b"/raw/branch/",
    b"/raw/commit/",
    b"/raw/tag/",
    b"/blame/branch/",
    b"/commits/branch/",
    b"/-/blob/",
    b"/-/raw/",
    b"/-/blame/",
    b"/-/commits/",
    b"/-/tree/",
];

/// Whether the path of `target`, decoded and resolved as the server does (so `..` cannot
/// fake it), lies in a file store or a forge's repository view.
fn is_user_content(target: &[u8]) -> bool {
    let path = &target[..memchr::memchr(b'?', target).unwrap_or(target.len())];
    let (mut decoded, mut tmp, mut norm) = (Vec::new(), Vec::new(), Vec::new());
    scantriage_detect::normalize::decode_into(path, usize::MAX, &mut decoded, &mut tmp);
    scantriage_detect::normalize::normalize_path(&decoded, &mut norm);
    CONTENT_PREFIXES.iter().any(|p| norm.starts_with(p))
        || CONTENT_SEGMENTS
            .iter()
            .any(|s| memchr::memmem::find(&norm, s).is_some())
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

impl<'a> Assessor<'a> {
    /// An assessor for these rules and this inventory.
    pub fn new(rules: &'a RuleSet, inventory: &'a Inventory) -> Self {
        Assessor {
            rules,
            inventory,
            vulnerable: None,
        }
    }

    /// Adds the signatures whose CVEs affect an installed version (computed once at
    /// startup): their relevant probes become `urgent`.
    pub fn with_vulnerable(mut self, map: &'a HashMap<SignatureIndex, VulnMatch>) -> Self {
        self.vulnerable = (!map.is_empty()).then_some(map);
        self
    }

    /// The verdict of signature `i`: [`Assessor::signature_verdict`], raised to
    /// `urgent` when the probe is relevant and one of the signature's CVEs affects the
    /// installed version.
    pub fn indexed_verdict(
        &self,
        i: SignatureIndex,
        sig: &Signature,
        status: u16,
        front_page: bool,
    ) -> (Verdict, Why) {
        let (v, why) = self.signature_verdict(sig, status, front_page);
        if v == Verdict::Relevant {
            if let Some(m) = self.vulnerable.and_then(|m| m.get(&i)) {
                return (Verdict::Urgent, Why::VulnerableVersion(m.reason));
            }
        }
        (v, why)
    }

    /// The verdict one signature gives a request with this status. `front_page` says
    /// the request went to the site's front page (`/`, `/index.php`), which answers
    /// success to any query string: a success there proves neither that an absent
    /// product exists nor that an exploit worked.
    pub fn signature_verdict(
        &self,
        sig: &Signature,
        status: u16,
        front_page: bool,
    ) -> (Verdict, Why) {
        let inv = self.inventory;
        let generic = sig.is_generic();
        let installed = sig.targets.iter().any(|t| inv.has(t));
        let applies = installed || (generic && inv.dynamic);
        let success = is_success(status);
        let absent = if generic {
            Why::GenericOnStatic
        } else {
            Why::AbsentSoftware
        };
        match sig.category {
            Category::Crawler => (Verdict::Benign, Why::Crawler),
            Category::Scanner if installed => (Verdict::Relevant, Why::ScannerForInstalled),
            Category::Scanner => (Verdict::Noise, Why::ScannerFingerprint),
            Category::Recon | Category::Secret if !success => {
                (Verdict::Noise, Why::ProbeGotNothing)
            }
            Category::Secret => (Verdict::Urgent, Why::SecretAnswered),
            Category::Recon if applies => (Verdict::Relevant, Why::ProbeFoundInstalled),
            Category::Recon | Category::Exploit
                if success && !generic && !installed && !front_page =>
            {
                (Verdict::Unknown, Why::SuccessForUnlisted)
            }
            Category::Recon => (Verdict::Noise, absent),
            Category::Bruteforce if applies => (Verdict::Relevant, Why::LoginAttempt),
            Category::Bruteforce => (Verdict::Noise, absent),
            Category::Exploit if installed && success && !front_page => {
                (Verdict::Urgent, Why::ExploitAnswered)
            }
            Category::Exploit if applies => (Verdict::Relevant, Why::ExploitCouldWork),
            Category::Exploit => (Verdict::Noise, absent),
        }
    }

    /// Assesses a request given the signatures it matched (sorted indices) and the
    /// heuristic suspicion, if any. Keeps in `matched` only the deciding signatures:
    /// when a product-specific probe matched, generic ones are dropped (the specific
    /// rule says what the payload is for). HTTP authentication that refused the
    /// credentials sent (401 with the user name logged) is a login attempt.
    pub fn assess(
        &self,
        req: &HttpRequest<'_>,
        matched: &mut Vec<SignatureIndex>,
        suspicion: Option<&'static str>,
    ) -> Assessment {
        let a = self.assess_signatures(req, matched, suspicion);
        if req.status == 401 && !req.remote_user.is_empty() && a.verdict < Verdict::Relevant {
            return Assessment {
                verdict: Verdict::Relevant,
                category: Category::Bruteforce,
                severity: a.severity.max(Severity::Low),
                why: Why::LoginAttempt,
            };
        }
        a
    }

    /// [`Assessor::assess`] by the signatures and the suspicion alone.
    fn assess_signatures(
        &self,
        req: &HttpRequest<'_>,
        matched: &mut Vec<SignatureIndex>,
        suspicion: Option<&'static str>,
    ) -> Assessment {
        let unmatched = || match suspicion {
            Some(s) => Assessment {
                verdict: Verdict::Unknown,
                category: Category::Recon,
                severity: Severity::Info,
                why: Why::Suspicious(s),
            },
            None => Assessment {
                verdict: Verdict::Benign,
                category: Category::Recon,
                severity: Severity::Info,
                why: Why::Ordinary,
            },
        };
        if matched.is_empty() {
            return unmatched();
        }
        // Only a product-specific exploit says what a payload is for; a product recon
        // rule on the same request (Shellshock sent to a CGI path) does not.
        let decides_payload = |s: &Signature| !s.is_generic() && s.category == Category::Exploit;
        if matched.iter().any(|&i| decides_payload(self.rules.get(i))) {
            matched.retain(|&i| {
                let s = self.rules.get(i);
                !s.is_generic() || matches!(s.category, Category::Crawler | Category::Scanner)
            });
        }
        // An informational look at a public page of some software (a status file, a
        // login page, an application's pages) is ordinary when a known crawler makes it
        // (indexing, monitoring) or when it carries a Referer (a user following a link
        // inside the application; scanners send none). Such looks never block, so a
        // forged User-Agent or Referer gains nothing.
        if matched.len() > 1 || !req.referer.is_empty() {
            let crawler = matched
                .iter()
                .any(|&i| self.rules.get(i).category == Category::Crawler);
            if crawler || !req.referer.is_empty() {
                matched.retain(|&i| {
                    let s = self.rules.get(i);
                    !(s.category == Category::Recon && s.severity == Severity::Info)
                });
                if matched.is_empty() {
                    return unmatched();
                }
            }
        }
        // Files a store or forge serves by name are content, not this server's secrets
        // or pages: names of things (secret and recon rules) say nothing there, while
        // payloads (exploits, logins, tool fingerprints) still count.
        let names_only = |i: &SignatureIndex| {
            matches!(
                self.rules.get(*i).category,
                Category::Secret | Category::Recon
            )
        };
        if matched.iter().any(names_only) && is_user_content(&req.target) {
            matched.retain(|i| !names_only(i));
            if matched.is_empty() {
                return unmatched();
            }
        }
        let mut best = Assessment {
            verdict: Verdict::Benign,
            category: Category::Crawler,
            severity: Severity::Info,
            why: Why::Crawler,
        };
        let target: &[u8] = &req.target;
        let path = &target[..memchr::memchr(b'?', target).unwrap_or(target.len())];
        let front_page = matches!(path, b"/" | b"/index.php" | b"/index.html" | b"/index.htm");
        for &i in matched.iter() {
            let sig = self.rules.get(i);
            let (v, why) = self.indexed_verdict(i, sig, req.status, front_page);
            if (v, sig.category, sig.severity) > (best.verdict, best.category, best.severity) {
                best = Assessment {
                    verdict: v,
                    category: sig.category,
                    severity: sig.severity,
                    why,
                };
            }
        }
        best
    }
}
