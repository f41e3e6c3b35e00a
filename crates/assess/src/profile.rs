//! What one source did: counts, signatures, examples, and its login-attempt window.

use crate::PolicyConfig;
use scantriage_core::{
    Category, LoginSummary, ScanSummary, Severity, SignatureIndex, SshSummary, Timestamp, Verdict,
};
use std::collections::VecDeque;

/// One request kept as evidence (only for findings, never for benign traffic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Index of the input in the run.
    pub input: u32,
    /// Line number in the input.
    pub line: u64,
    /// When.
    pub time: Timestamp,
    /// `METHOD target` with control bytes escaped.
    pub request: String,
    /// The server's answer.
    pub status: u16,
}

/// Per-signature counts within one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureStat {
    /// The signature.
    pub sig: SignatureIndex,
    /// Requests it matched.
    pub count: u64,
    /// The worst verdict of those requests.
    pub verdict: Verdict,
}

/// "N attempts within W seconds" detectors over a source's login attempts.
#[derive(Debug, Clone, Default)]
pub struct LoginWindow {
    recent: VecDeque<i64>,
    scripted: VecDeque<i64>,
    /// Total login attempts.
    pub attempts: u64,
    /// The largest number of attempts seen inside the fast window.
    pub peak_fast: u64,
    /// The largest number of attempts seen inside the slow window.
    pub peak_slow: u64,
    /// The largest number of scripted attempts (no Referer, as no login form sends)
    /// seen inside the slow window.
    pub peak_scripted: u64,
}

impl LoginWindow {
    fn observe(&mut self, t_ms: i64, scripted: bool, cfg: &PolicyConfig) {
        fn push(q: &mut VecDeque<i64>, t_ms: i64, keep: u64) {
            q.push_back(t_ms);
            while q.len() > keep.max(1) as usize {
                q.pop_front();
            }
        }
        fn within(q: &VecDeque<i64>, t_ms: i64, w_secs: u64) -> u64 {
            let from = t_ms.saturating_sub((w_secs as i64).saturating_mul(1000));
            q.iter().rev().take_while(|&&x| x >= from).count() as u64
        }
        self.attempts += 1;
        push(
            &mut self.recent,
            t_ms,
            cfg.login_fast_attempts.max(cfg.login_slow_attempts),
        );
        self.peak_fast = self
            .peak_fast
            .max(within(&self.recent, t_ms, cfg.login_fast_window_secs));
        self.peak_slow = self
            .peak_slow
            .max(within(&self.recent, t_ms, cfg.login_slow_window_secs));
        if scripted {
            push(&mut self.scripted, t_ms, cfg.login_scripted_attempts);
            self.peak_scripted =
                self.peak_scripted
                    .max(within(&self.scripted, t_ms, cfg.login_slow_window_secs));
        }
    }
}

/// The classes of requests the policy counts, each with its first example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Urgent findings.
    Urgent = 0,
    /// Exploit payloads that could work here.
    Exploit = 1,
    /// Relevant probes (not logins).
    Relevant = 2,
    /// Login attempts on installed software.
    Login = 3,
    /// Unknown (queued for a person).
    Unknown = 4,
    /// Noise.
    Noise = 5,
    /// Relevant but informational: a look at a public page of installed software
    /// (a login page, a version file) that real users make too; never blocks alone.
    Glance = 6,
}

/// Number of [`Class`] values.
pub const CLASSES: usize = 7;

/// One assessed request, as a profile takes it.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// When.
    pub time: Timestamp,
    /// Its verdict.
    pub verdict: Verdict,
    /// The deciding category.
    pub category: Category,
    /// The deciding signature's severity.
    pub severity: Severity,
    /// The deciding signatures.
    pub sigs: &'a [SignatureIndex],
    /// It carried no Referer (a login form always sends one).
    pub scripted: bool,
    /// Why it was unknown, when it was.
    pub why: Option<&'static str>,
}

/// Everything known about one source in this run.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Requests seen.
    pub events: u64,
    /// Requests per verdict, indexed like [`Verdict::ALL`].
    pub by_verdict: [u64; 5],
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
    /// Signatures matched, in order of first match.
    pub signatures: Vec<SignatureStat>,
    /// Requests per class, indexed by [`Class`].
    pub class_counts: [u64; CLASSES],
    /// First example per class.
    pub examples: [Option<Evidence>; CLASSES],
    /// Signature that decided the first example of each class.
    pub example_sigs: [Option<SignatureIndex>; CLASSES],
    /// Why the first unknown request was unknown.
    pub unknown_why: Option<&'static str>,
    /// Why the first urgent request was urgent.
    pub urgent_why: Option<&'static str>,
    /// Login attempts.
    pub login: LoginWindow,
    /// Exploit payloads for software this server does not run.
    pub noise_exploits: u64,
    /// Network events (packets, sshd messages) seen; not counted in `events`.
    pub net_events: u64,
    /// The port scan detected from this source (firewall logs, captures).
    pub scan: Option<ScanSummary>,
    /// What it did against sshd.
    pub ssh: Option<SshSummary>,
    /// What it did against the other login services (SMTP AUTH, IMAP/POP3, FTP).
    pub auth: Vec<LoginSummary>,
    /// Input and line (or packet number) of its first network event, as evidence.
    pub net_example: Option<(u32, u64)>,
}

impl Profile {
    /// An empty profile starting at `t`.
    pub fn new(t: Timestamp) -> Profile {
        Profile {
            events: 0,
            by_verdict: [0; 5],
            first_seen: t,
            last_seen: t,
            signatures: Vec::new(),
            class_counts: [0; CLASSES],
            examples: Default::default(),
            example_sigs: [None; CLASSES],
            unknown_why: None,
            urgent_why: None,
            login: LoginWindow::default(),
            noise_exploits: 0,
            net_events: 0,
            scan: None,
            ssh: None,
            auth: Vec::new(),
            net_example: None,
        }
    }

    /// Adds one network event (a packet or an sshd message) at `t` from `input`:`line`.
    pub fn observe_network(&mut self, t: Timestamp, input: u32, line: u64) {
        if self.events == 0 && self.net_events == 0 {
            self.first_seen = t;
            self.last_seen = t;
        }
        self.net_events += 1;
        self.first_seen = self.first_seen.min(t);
        self.last_seen = self.last_seen.max(t);
        self.net_example.get_or_insert((input, line));
    }

    /// The worst verdict seen.
    pub fn verdict(&self) -> Verdict {
        Verdict::ALL
            .iter()
            .rev()
            .copied()
            .find(|v| self.by_verdict[*v as usize] > 0)
            .unwrap_or(Verdict::Benign)
    }

    /// Adds one request. `evidence` is called only when the request is a finding whose
    /// class has no example yet.
    pub fn observe(
        &mut self,
        o: &Observation<'_>,
        cfg: &PolicyConfig,
        evidence: impl FnOnce() -> Evidence,
    ) {
        let Observation {
            time: t,
            verdict,
            category,
            severity,
            sigs,
            scripted,
            why,
        } = *o;
        self.events += 1;
        self.by_verdict[verdict as usize] += 1;
        self.first_seen = self.first_seen.min(t);
        self.last_seen = self.last_seen.max(t);
        for &s in sigs {
            match self.signatures.iter_mut().find(|x| x.sig == s) {
                Some(x) => {
                    x.count += 1;
                    x.verdict = x.verdict.max(verdict);
                }
                None => self.signatures.push(SignatureStat {
                    sig: s,
                    count: 1,
                    verdict,
                }),
            }
        }
        let class = match (verdict, category) {
            (Verdict::Benign, _) => return,
            (Verdict::Urgent, _) => Class::Urgent,
            (Verdict::Relevant, Category::Exploit) => Class::Exploit,
            (Verdict::Relevant, Category::Bruteforce) => {
                self.login.observe(t.unix_ms, scripted, cfg);
                Class::Login
            }
            (Verdict::Relevant, Category::Recon | Category::Scanner)
                if severity == Severity::Info =>
            {
                Class::Glance
            }
            (Verdict::Relevant, _) => Class::Relevant,
            (Verdict::Unknown, _) => Class::Unknown,
            (Verdict::Noise, c) => {
                self.noise_exploits += u64::from(c == Category::Exploit);
                Class::Noise
            }
        };
        let c = class as usize;
        self.class_counts[c] += 1;
        if self.examples[c].is_none() {
            self.examples[c] = Some(evidence());
            self.example_sigs[c] = sigs.first().copied();
            match class {
                Class::Unknown => self.unknown_why = why,
                Class::Urgent => self.urgent_why = why,
                _ => {}
            }
        }
    }
}
