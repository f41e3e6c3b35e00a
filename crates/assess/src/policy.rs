//! The block policy: from a source profile to a decision with checkable reasons.

use crate::profile::{Class, Profile};
use ipnet::IpNet;
use scantriage_core::{AuthService, Category, DecisionKind, SshSummary, Verdict};
use scantriage_detect::RuleSet;
use std::net::IpAddr;

/// Every threshold of the policy; the defaults serve a typical server.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Block duration for urgent findings.
    pub block_urgent_secs: u64,
    /// Block duration for exploit payloads that could work here.
    pub block_exploit_secs: u64,
    /// Block duration for login brute force (web logins, SSH, mail and FTP).
    pub block_bruteforce_secs: u64,
    /// Block duration for a port scan.
    pub block_portscan_secs: u64,
    /// Block duration for repeated relevant probes.
    pub block_relevant_secs: u64,
    /// How long a watch lasts.
    pub watch_secs: u64,
    /// Relevant probes (not logins) from one source that make a block; fewer make a watch.
    pub relevant_block_after: u64,
    /// Login attempts within the fast window that make a block.
    pub login_fast_attempts: u64,
    /// The fast window, in seconds.
    pub login_fast_window_secs: u64,
    /// Login attempts within the slow window that make a block (low-and-slow guessing).
    pub login_slow_attempts: u64,
    /// The slow window, in seconds.
    pub login_slow_window_secs: u64,
    /// Scripted login attempts (without the Referer every login form sends) within the
    /// slow window that make a block.
    pub login_scripted_attempts: u64,
    /// Login attempts that put a source on watch when no threshold is reached (fewer
    /// are a person who mistyped a password).
    pub login_watch_attempts: u64,
    /// Also block exploits for software this server does not run.
    pub block_noise_exploits: bool,
    /// Each earlier block of the same source multiplies the duration by this.
    pub escalation_factor: u32,
    /// Longest block escalation may reach.
    pub max_block_secs: u64,
    /// Prefixes that are never blocked or watched.
    pub allowlist: Vec<IpNet>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            block_urgent_secs: 7 * 86_400,
            block_exploit_secs: 86_400,
            block_bruteforce_secs: 86_400,
            block_portscan_secs: 86_400,
            block_relevant_secs: 6 * 3600,
            watch_secs: 86_400,
            relevant_block_after: 2,
            login_fast_attempts: 10,
            login_fast_window_secs: 600,
            login_slow_attempts: 20,
            login_slow_window_secs: 7 * 86_400,
            login_scripted_attempts: 5,
            login_watch_attempts: 5,
            block_noise_exploits: false,
            escalation_factor: 2,
            max_block_secs: 30 * 86_400,
            allowlist: Vec::new(),
        }
    }
}

/// The outcome of the policy for one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What to do.
    pub kind: DecisionKind,
    /// For how long, in seconds.
    pub duration_secs: u64,
    /// The evidence, one sentence each.
    pub reasons: Vec<String>,
}

#[derive(Default)]
struct Acc {
    kind: DecisionKind,
    secs: u64,
    reasons: Vec<String>,
}

impl Acc {
    fn block(&mut self, secs: u64, reason: String) {
        self.kind = DecisionKind::Block;
        self.secs = self.secs.max(secs);
        self.reasons.push(reason);
    }

    fn watch(&mut self, reason: String) {
        self.kind = self.kind.max(DecisionKind::Watch);
        self.reasons.push(reason);
    }
}

/// The reason sentence for a port scan.
fn scan_reason(s: &scantriage_core::ScanSummary) -> String {
    let list = |v: Vec<String>, n: u64| {
        let shown = v.len() as u64;
        let mut t = v.join(",");
        if n > shown {
            t.push_str(&format!(",... ({n} in all)"));
        }
        t
    };
    let techniques: Vec<&str> = s.techniques.iter().map(|t| t.as_str()).collect();
    format!(
        "port scan ({} {}, {}): {} probe(s) to {} port(s) [{}] on {} host(s) [{}], {} answered open; detected by {} after {} probe(s) at {}; {}s from {} to {}",
        s.kind,
        s.technique,
        techniques.join("+"),
        s.probes,
        s.port_count,
        list(s.ports.iter().take(20).map(|p| p.to_string()).collect(), s.port_count),
        s.host_count,
        list(s.hosts.iter().take(5).map(|h| h.to_string()).collect(), s.host_count),
        s.open,
        if s.method == "trw" {
            "sequential hypothesis test (TRW)"
        } else {
            "distinct ports/hosts count"
        },
        s.probes_before_detection,
        s.detected_at,
        s.duration_secs,
        s.first_seen,
        s.last_seen
    )
}

/// Applies a [`PolicyConfig`] to source profiles.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The thresholds.
    pub config: PolicyConfig,
}

impl Policy {
    /// A policy with these thresholds.
    pub fn new(config: PolicyConfig) -> Policy {
        Policy { config }
    }

    /// Whether an address is allowlisted.
    pub fn allowlisted(&self, ip: IpAddr) -> bool {
        self.config.allowlist.iter().any(|n| n.contains(&ip))
    }

    /// Decides about a source. `inputs` names the run's inputs (for evidence),
    /// `earlier_blocks` counts the source's earlier blocks (for escalation).
    pub fn decide(
        &self,
        ip: IpAddr,
        p: &Profile,
        rules: &RuleSet,
        inputs: &[String],
        earlier_blocks: u32,
    ) -> Outcome {
        let c = &self.config;
        let n = |class: Class| p.class_counts[class as usize];
        let example = |class: Class| -> String {
            let Some(e) = &p.examples[class as usize] else {
                return String::new();
            };
            let sig = p.example_sigs[class as usize]
                .map(|s| format!(" [{}]", rules.get(s).id))
                .unwrap_or_default();
            let input = inputs.get(e.input as usize).map_or("?", String::as_str);
            format!(
                "; e.g. {input}:{} \"{}\" -> {}{sig}",
                e.line, e.request, e.status
            )
        };
        let sig_list = |pred: &dyn Fn(&scantriage_detect::Signature, Verdict) -> bool| -> String {
            let mut v: Vec<String> = p
                .signatures
                .iter()
                .filter(|s| pred(rules.get(s.sig), s.verdict))
                .map(|s| format!("{} x{}", rules.get(s.sig).id, s.count))
                .collect();
            v.truncate(5);
            v.join(", ")
        };
        if self.allowlisted(ip) {
            return Outcome {
                kind: DecisionKind::Ignore,
                duration_secs: 0,
                reasons: vec!["allowlisted: never blocked".to_string()],
            };
        }
        let mut acc = Acc::default();
        if n(Class::Urgent) > 0 {
            acc.block(
                c.block_urgent_secs,
                format!(
                    "{} urgent finding(s){}{}",
                    n(Class::Urgent),
                    p.urgent_why.map_or(String::new(), |w| format!(": {w}")),
                    example(Class::Urgent)
                ),
            );
        }
        if n(Class::Exploit) > 0 {
            acc.block(
                c.block_exploit_secs,
                format!(
                    "{} exploit payload(s) that could work here ({}){}",
                    n(Class::Exploit),
                    sig_list(&|s, v| s.category == Category::Exploit && v >= Verdict::Relevant),
                    example(Class::Exploit)
                ),
            );
        }
        // Evidence for network detections: the source's first network event.
        let net_at = p.net_example.map_or(String::new(), |(i, line)| {
            let input = inputs.get(i as usize).map_or("?", String::as_str);
            format!("; first seen at {input}:{line}")
        });
        if let Some(s) = &p.scan {
            acc.block(c.block_portscan_secs, format!("{}{net_at}", scan_reason(s)));
        }
        if let Some(s) = &p.ssh {
            login_service(&mut acc, c, AuthService::Ssh, s, &net_at);
        }
        for a in &p.auth {
            login_service(&mut acc, c, a.service, &a.summary, &net_at);
        }
        let l = &p.login;
        if l.peak_fast >= c.login_fast_attempts.max(1)
            || l.peak_slow >= c.login_slow_attempts.max(1)
            || l.peak_scripted >= c.login_scripted_attempts.max(1)
        {
            acc.block(
                c.block_bruteforce_secs,
                format!(
                    "login brute force: {} attempts in all; up to {} within {}s (threshold {}), {} within {}s (threshold {}), {} scripted (no Referer) within {}s (threshold {}){}",
                    l.attempts,
                    l.peak_fast,
                    c.login_fast_window_secs,
                    c.login_fast_attempts,
                    l.peak_slow,
                    c.login_slow_window_secs,
                    c.login_slow_attempts,
                    l.peak_scripted,
                    c.login_slow_window_secs,
                    c.login_scripted_attempts,
                    example(Class::Login)
                ),
            );
        } else if l.peak_scripted >= 2 || l.attempts >= c.login_watch_attempts.max(1) {
            // Below the thresholds, a person at a login form (it sends a Referer) who
            // signs in, or mistypes a few times, is no concern; nor is one scripted POST
            // (a pingback to xmlrpc.php, an app signing in once). Repeated scripted
            // attempts, or `login_watch_attempts` in all, are worth a look.
            acc.watch(format!(
                "{} login attempt(s), below the brute-force thresholds{}",
                l.attempts,
                example(Class::Login)
            ));
        }
        let relevant = n(Class::Relevant);
        if relevant >= c.relevant_block_after.max(1) {
            acc.block(
                c.block_relevant_secs,
                format!(
                    "{relevant} relevant probes (threshold {}): {}{}",
                    c.relevant_block_after,
                    sig_list(&|s, v| {
                        v >= Verdict::Relevant
                            && !matches!(s.category, Category::Bruteforce | Category::Crawler)
                    }),
                    example(Class::Relevant)
                ),
            );
        } else if relevant > 0 {
            acc.watch(format!(
                "a single relevant probe{}",
                example(Class::Relevant)
            ));
        }
        if n(Class::Glance) > 0 && acc.kind == DecisionKind::Ignore {
            // A person using the software (the site's own admin opening the login page)
            // also fetches ordinary pages and assets; a fingerprinting scanner does not.
            let benign = p.by_verdict[Verdict::Benign as usize];
            if benign >= 3 && benign >= 2 * n(Class::Glance) {
                acc.reasons.push(format!(
                    "{} look(s) at public pages of software this server runs, while browsing normally ({benign} ordinary requests){}",
                    n(Class::Glance),
                    example(Class::Glance)
                ));
            } else {
                acc.watch(format!(
                    "{} look(s) at public pages of software this server runs{}",
                    n(Class::Glance),
                    example(Class::Glance)
                ));
            }
        }
        if c.block_noise_exploits && p.noise_exploits > 0 {
            acc.block(
                c.block_exploit_secs,
                format!(
                    "{} exploit payload(s) for software not run here (policy blocks them too){}",
                    p.noise_exploits,
                    example(Class::Noise)
                ),
            );
        }
        if n(Class::Unknown) > 0 {
            acc.watch(format!(
                "{} unknown request(s) for a person to inspect ({}){}",
                n(Class::Unknown),
                p.unknown_why
                    .unwrap_or("success answer the inventory cannot explain"),
                example(Class::Unknown)
            ));
        }
        if acc.kind == DecisionKind::Ignore && n(Class::Noise) > 0 {
            // A signature whose later matches were more than noise is not listed here.
            let sigs = sig_list(&|_, v| v == Verdict::Noise);
            let sigs = if sigs.is_empty() {
                String::new()
            } else {
                format!(" ({sigs})")
            };
            acc.reasons.push(format!(
                "{} probe(s) that cannot hurt this server{sigs}{}",
                n(Class::Noise),
                example(Class::Noise)
            ));
        }
        let Acc {
            kind,
            secs,
            mut reasons,
        } = acc;
        let duration_secs = match kind {
            DecisionKind::Block => {
                let f =
                    u64::from(c.escalation_factor.max(1)).saturating_pow(earlier_blocks.min(16));
                let d = secs.saturating_mul(f).min(c.max_block_secs.max(secs));
                if earlier_blocks > 0 {
                    reasons.push(format!(
                        "repeat offender: blocked {earlier_blocks} time(s) before, duration escalated x{f}"
                    ));
                }
                d
            }
            DecisionKind::Watch => c.watch_secs,
            DecisionKind::Ignore => 0,
        };
        Outcome {
            kind,
            duration_secs,
            reasons,
        }
    }
}

/// Blocks a brute force against one login service (SSH, SMTP AUTH, IMAP/POP3, FTP), or
/// watches a source with failures or recon below the thresholds.
fn login_service(
    acc: &mut Acc,
    c: &PolicyConfig,
    service: AuthService,
    s: &SshSummary,
    net_at: &str,
) {
    let label = service.label();
    // sshd's messages keep their name in SSH reasons; the others are the server's.
    let messages = if service == AuthService::Ssh {
        "sshd message(s)"
    } else {
        "message(s)"
    };
    if let Some(why) = &s.brute_force {
        let mut r = format!(
            "{label} brute force: {why}; {} failed, {} invalid user(s), {} distinct name(s) ({}), {} preauth close(s), detected at {} after {} {messages}",
            s.failures,
            s.invalid_users,
            s.distinct_users,
            s.users.join(", "),
            s.preauth_closes,
            s.detected_at.map_or(String::new(), |t| t.to_string()),
            s.events_before_detection.unwrap_or(0)
        );
        if s.accepted > 0 {
            r.push_str(&format!(
                "; it then LOGGED IN as {}: check those accounts",
                s.accepted_users.join(", ")
            ));
        }
        r.push_str(net_at);
        acc.block(c.block_bruteforce_secs, r);
    } else if s.recon > 0 || s.failures > 0 || s.invalid_users > 0 {
        let recon = match service {
            AuthService::Ssh => "connection(s) without a login attempt (banner grabbing)",
            AuthService::Smtp => {
                "relay attempt(s) refused or connection(s) without a login attempt"
            }
            _ => "connection(s) without a login attempt",
        };
        acc.watch(format!(
            "{label}: {} failed login(s), {} invalid user(s), {} {recon}, below the brute-force thresholds{net_at}",
            s.failures, s.invalid_users, s.recon
        ));
    }
}
