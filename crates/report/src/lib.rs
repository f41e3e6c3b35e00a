//! Reports of a run: a terminal report for people and JSON lines for programs.
//!
//! The JSON schema is stable and documented in the README: one object per source,
//! then one `{"campaign": {...}}` object per campaign (by target, by signature, and
//! emerging), then one `{"summary": {...}}` object. Every value that came from a log has already
//! been escaped with [`scantriage_core::escape_for_display`] before it reaches this
//! crate, so neither output can carry terminal control sequences.

#![warn(missing_docs)]

use scantriage_core::{DecisionKind, SourceSummary, Timestamp, Verdict};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// What happened to one input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputStats {
    /// The input's name as given.
    pub name: String,
    /// The format used (detected or forced).
    pub format: String,
    /// Lines read in this run.
    pub lines: u64,
    /// Lines that did not parse.
    pub parse_errors: u64,
    /// Lines longer than the line limit (cut and still parsed as far as possible).
    pub long_lines: u64,
    /// Lines skipped because an earlier run analysed them (checkpoint).
    pub skipped_lines: u64,
    /// The first few unparsable lines: `line N: why: text`.
    pub first_errors: Vec<String>,
    /// A read error that ended the input early (truncated archive, I/O error).
    pub read_error: Option<String>,
}

/// Many sources doing the same thing: one signature and the sources that matched it.
#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    /// The signature id.
    pub signature: String,
    /// Its name.
    pub name: String,
    /// Its target products.
    pub targets: Vec<String>,
    /// Its category.
    pub category: String,
    /// CVE ids it names.
    pub cves: Vec<String>,
    /// The worst verdict its requests got here.
    pub verdict: Verdict,
    /// Distinct sources.
    pub sources: u64,
    /// Requests.
    pub requests: u64,
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
}

/// Sources of a campaign in one autonomous system.
#[derive(Debug, Clone, Serialize)]
pub struct AsnCount {
    /// The autonomous system number.
    pub asn: u32,
    /// Its organisation, when the database names it.
    pub org: Option<String>,
    /// Distinct sources of the campaign in it.
    pub sources: u64,
}

/// Activity of a campaign within one time window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Start of the window.
    pub start: Timestamp,
    /// Distinct sources in the window.
    pub sources: u64,
    /// Distinct networks (/24, /48) in the window.
    pub networks: u64,
    /// Requests in the window.
    pub requests: u64,
}

/// How fast a campaign grows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Growth {
    /// Distinct sources in the window that ends with the run's last event.
    pub sources_last_window: u64,
    /// Distinct sources in the window before it.
    pub sources_prev_window: u64,
    /// `sources_last_window / sources_prev_window` (null when the previous window had none).
    pub ratio: Option<f64>,
    /// Distinct sources per hour between first and last seen.
    pub sources_per_hour: f64,
}

/// Findings across sources for one target product (noise probes for software not run
/// here are the bulk of them).
#[derive(Debug, Clone, Serialize)]
pub struct TargetCampaign {
    /// The target product (`generic` for attacks on any dynamic site).
    pub target: String,
    /// The target runs here (it is in the inventory).
    pub installed: bool,
    /// The worst verdict its requests got.
    pub verdict: Verdict,
    /// Requests per verdict.
    pub by_verdict: VerdictCounts,
    /// Distinct sources.
    pub sources: u64,
    /// Distinct networks (/24 for IPv4, /48 for IPv6).
    pub networks: u64,
    /// Distinct autonomous systems (null when no ASN database is configured).
    pub asns: Option<u64>,
    /// The autonomous systems with the most sources (at most five).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_asns: Vec<AsnCount>,
    /// Requests.
    pub requests: u64,
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
    /// Its signatures with the most requests (at most five).
    pub signatures: Vec<String>,
    /// Growth.
    pub growth: Growth,
    /// Per time window (`campaigns.window`).
    pub windows: Vec<Window>,
}

/// Findings across sources for one signature, by time window.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCampaign {
    /// The signature id.
    pub signature: String,
    /// Its name.
    pub name: String,
    /// Its target products.
    pub targets: Vec<String>,
    /// Its category.
    pub category: String,
    /// CVE ids it names.
    pub cves: Vec<String>,
    /// The worst verdict its requests got here.
    pub verdict: Verdict,
    /// Distinct sources.
    pub sources: u64,
    /// Distinct networks (/24 for IPv4, /48 for IPv6).
    pub networks: u64,
    /// Distinct autonomous systems (null when no ASN database is configured).
    pub asns: Option<u64>,
    /// The autonomous systems with the most sources (at most five).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_asns: Vec<AsnCount>,
    /// Requests.
    pub requests: u64,
    /// First request.
    pub first_seen: Timestamp,
    /// Last request.
    pub last_seen: Timestamp,
    /// Growth.
    pub growth: Growth,
    /// Per time window (`campaigns.window`).
    pub windows: Vec<Window>,
}

/// Where something happened: time and `input:line`.
#[derive(Debug, Clone, Serialize)]
pub struct At {
    /// Event time.
    pub time: Timestamp,
    /// Input name.
    pub input: String,
    /// Line in the input.
    pub line: u64,
}

/// Requests in one hour.
#[derive(Debug, Clone, Serialize)]
pub struct HourCount {
    /// Start of the hour.
    pub hour: Timestamp,
    /// Requests.
    pub requests: u64,
}

/// The signature drafted for an emerging campaign.
#[derive(Debug, Clone, Serialize)]
pub struct DraftRef {
    /// The rule id.
    pub id: String,
    /// Where it was written (null when no drafts directory was given).
    pub file: Option<String>,
    /// Problems found when checking it (empty: it loads and its examples pass).
    pub problems: Vec<String>,
}

/// A new wave: a path template the site does not serve, requested by many unrelated
/// sources, with no signature yet.
#[derive(Debug, Clone, Serialize)]
pub struct EmergingCampaign {
    /// Stable id from the template (`wave-xxxxxxxx`).
    pub id: String,
    /// The path template (`{num}`, `{hex}`, `{uuid}`, `{email}`, `{token}` placeholders;
    /// query keys sorted, values dropped).
    pub template: String,
    /// Every template of the campaign, `template` first: the same sources probing
    /// several paths are one campaign.
    pub templates: Vec<String>,
    /// Methods used, most requests first.
    pub methods: Vec<String>,
    /// Distinct sources (readers excluded).
    pub sources: u64,
    /// The first sources (at most twenty).
    pub source_sample: Vec<String>,
    /// Distinct networks (/24 for IPv4, /48 for IPv6).
    pub networks: u64,
    /// Distinct autonomous systems (null when no ASN database is configured).
    pub asns: Option<u64>,
    /// The autonomous systems with the most sources (at most five).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top_asns: Vec<AsnCount>,
    /// Requests.
    pub requests: u64,
    /// The first request.
    pub first_seen: At,
    /// Last request.
    pub last_seen: Timestamp,
    /// The request at which the thresholds were crossed.
    pub detected_at: At,
    /// Requests per hour.
    pub timeline: Vec<HourCount>,
    /// Requests per status.
    pub statuses: BTreeMap<String, u64>,
    /// Sample requests: `input:line "request" -> status`.
    pub samples: Vec<String>,
    /// Growth.
    pub growth: Growth,
    /// The site answered success for it after detection (it may be the site's own page).
    pub served_later: bool,
    /// The drafted signature, if one could be written.
    pub draft: Option<DraftRef>,
}

/// One `{"campaign": {...}}` object, tagged with its `kind`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum CampaignObject {
    /// Findings for one target product.
    Target(TargetCampaign),
    /// Findings for one signature.
    Signature(SignatureCampaign),
    /// A new wave without a signature.
    Emerging(EmergingCampaign),
}

/// Counters of the new-wave detector.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WaveSummary {
    /// Campaigns and waves were computed.
    pub enabled: bool,
    /// Length of a campaign window, in seconds.
    pub window_secs: u64,
    /// Requests without a signature seen by the wave detector.
    pub events: u64,
    /// Unknown templates tracked at the end.
    pub templates: u64,
    /// Unknown templates evicted to stay within `campaigns.max_templates`.
    pub evicted: u64,
    /// Templates the site serves, remembered.
    pub served_templates: u64,
    /// Emerging campaigns found.
    pub emerging: u64,
    /// Estimated memory of the detector at the end, in bytes.
    pub memory_bytes: u64,
    /// The most it can use with this configuration, in bytes.
    pub memory_bound_bytes: u64,
}

/// A product the inventory does not list, yet the server answered success to probes
/// for it: the inventory may be wrong.
#[derive(Debug, Clone, Serialize)]
pub struct InventoryHint {
    /// The product.
    pub product: String,
    /// Distinct sources whose probe for it got a success answer.
    pub sources: u64,
    /// One such request: `input:line "request" -> status`.
    pub example: String,
}

/// Sources that are edge addresses of one CDN or cloud load balancer: the log does not
/// name the visitors behind them.
#[derive(Debug, Clone, Serialize)]
pub struct CdnEdges {
    /// The provider.
    pub provider: String,
    /// Distinct edge addresses seen as sources.
    pub sources: u64,
    /// Their requests.
    pub requests: u64,
}

/// A CVE that sources probed for, and whether this server is affected by it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CveProbe {
    /// The CVE id.
    pub cve: String,
    /// The signatures that recognised the probes.
    pub signatures: Vec<String>,
    /// Distinct sources.
    pub sources: u64,
    /// Requests.
    pub requests: u64,
    /// The last probe.
    pub last_seen: Timestamp,
    /// An installed version is affected (from the advisory database).
    pub affected: bool,
    /// The affected product, when affected.
    pub product: Option<String>,
    /// The installed version, when affected.
    pub installed: Option<String>,
    /// The version that fixes it, when known.
    pub fixed: Option<String>,
    /// In the CISA Known Exploited Vulnerabilities catalog.
    pub known_exploited: bool,
}

/// Counts of decisions by kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DecisionCounts {
    /// Sources to block.
    pub block: u64,
    /// Sources to watch.
    pub watch: u64,
    /// Sources ignored.
    pub ignore: u64,
}

/// Totals of a run: the last JSON object.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Per-input statistics.
    pub inputs: Vec<InputStats>,
    /// Lines read.
    pub lines: u64,
    /// Events parsed.
    pub events: u64,
    /// Lines that did not parse.
    pub parse_errors: u64,
    /// Events per verdict.
    pub by_verdict: VerdictCounts,
    /// Share of findings (non-benign events) that were noise, in percent.
    pub noise_pruned_pct: f64,
    /// Distinct sources.
    pub sources: u64,
    /// Decisions by kind.
    pub decisions: DecisionCounts,
    /// Top campaigns, by number of sources.
    pub campaigns: Vec<Campaign>,
    /// Products the inventory does not list that answered success to probes.
    pub inventory_hints: Vec<InventoryHint>,
    /// Sources that are CDN edge addresses, per provider (never blocked).
    pub cdn_edges: Vec<CdnEdges>,
    /// The CVEs sources probed for, affected ones first.
    pub cves_probed: Vec<CveProbe>,
    /// Counters of the new-wave detector.
    pub waves: WaveSummary,
    /// Campaigns by target, by signature and emerging: written as `{"campaign": ...}`
    /// lines before the summary, and as the terminal report's campaign sections.
    #[serde(skip)]
    pub campaign_objects: Vec<CampaignObject>,
    /// Wall-clock time of the analysis, in milliseconds.
    pub elapsed_ms: u64,
    /// The store written, if any.
    pub store: Option<String>,
}

/// Event counts per verdict, with named fields.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct VerdictCounts {
    /// Benign.
    pub benign: u64,
    /// Noise.
    pub noise: u64,
    /// Unknown.
    pub unknown: u64,
    /// Relevant.
    pub relevant: u64,
    /// Urgent.
    pub urgent: u64,
}

impl From<[u64; 5]> for VerdictCounts {
    fn from(a: [u64; 5]) -> Self {
        VerdictCounts {
            benign: a[0],
            noise: a[1],
            unknown: a[2],
            relevant: a[3],
            urgent: a[4],
        }
    }
}

/// Writes the JSON-lines report: one object per source, one per campaign, then the summary.
pub fn write_json(
    sources: &[SourceSummary],
    summary: &Summary,
    w: &mut dyn Write,
) -> io::Result<()> {
    for s in sources {
        serde_json::to_writer(&mut *w, s)?;
        w.write_all(b"\n")?;
    }
    #[derive(Serialize)]
    struct CampaignWrap<'a> {
        campaign: &'a CampaignObject,
    }
    for c in &summary.campaign_objects {
        serde_json::to_writer(&mut *w, &CampaignWrap { campaign: c })?;
        w.write_all(b"\n")?;
    }
    #[derive(Serialize)]
    struct Wrap<'a> {
        summary: &'a Summary,
    }
    serde_json::to_writer(&mut *w, &Wrap { summary })?;
    w.write_all(b"\n")
}

/// Formats a duration in seconds the way people write it (`6h`, `7d`, `1d12h`).
pub fn human_duration(secs: u64) -> String {
    if secs == 0 {
        return "-".into();
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    out
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// How many rows each section of the terminal report shows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows of sources to block.
    pub blocks: usize,
    /// Rows of the queue.
    pub queue: usize,
    /// Rows of campaigns.
    pub campaigns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            blocks: 25,
            queue: 25,
            campaigns: 15,
        }
    }
}

/// The network section: port scans, SSH brute force and brute force against the other
/// login services (SMTP AUTH, IMAP/POP3, FTP), when there are any.
fn write_network(sources: &[SourceSummary], limits: Limits, w: &mut dyn Write) -> io::Result<()> {
    let scans: Vec<&SourceSummary> = sources.iter().filter(|s| s.port_scan.is_some()).collect();
    let brute: Vec<&SourceSummary> = sources
        .iter()
        .filter(|s| s.ssh.as_ref().is_some_and(|x| x.brute_force.is_some()))
        .collect();
    if !scans.is_empty() {
        writeln!(w, "\nPORT SCANS ({})", scans.len())?;
        writeln!(
            w,
            "  {:<40} {:<10} {:<9} {:>6} {:>5} {:>7} {:>8}  PORTS",
            "SOURCE", "KIND", "TECHNIQUE", "PROBES", "HOSTS", "DECIDED", "DURATION"
        )?;
        for s in scans.iter().take(limits.blocks) {
            let p = s.port_scan.as_ref().expect("filtered");
            let mut ports: Vec<String> = p.ports.iter().take(12).map(u16::to_string).collect();
            if p.port_count > ports.len() as u64 {
                ports.push(format!("... ({})", p.port_count));
            }
            writeln!(
                w,
                "  {:<40} {:<10} {:<9} {:>6} {:>5} {:>7} {:>8}  {}",
                s.ip.to_string(),
                p.kind,
                p.technique.as_str(),
                p.probes,
                p.host_count,
                p.probes_before_detection,
                human_duration(p.duration_secs),
                ports.join(",")
            )?;
        }
    }
    if !brute.is_empty() {
        writeln!(w, "\nSSH BRUTE FORCE ({})", brute.len())?;
        for s in brute.iter().take(limits.blocks) {
            let x = s.ssh.as_ref().expect("filtered");
            writeln!(w, "  {:<40} {}", s.ip.to_string(), login_counts(x))?;
        }
    }
    let logins: Vec<(&SourceSummary, &scantriage_core::LoginSummary)> = sources
        .iter()
        .flat_map(|s| s.auth.iter().map(move |a| (s, a)))
        .filter(|(_, a)| a.summary.brute_force.is_some())
        .collect();
    if !logins.is_empty() {
        writeln!(w, "\nMAIL AND FTP BRUTE FORCE ({})", logins.len())?;
        for (s, a) in logins.iter().take(limits.blocks) {
            writeln!(
                w,
                "  {:<40} {:<9} {}",
                s.ip.to_string(),
                a.service.label(),
                login_counts(&a.summary)
            )?;
        }
    }
    Ok(())
}

/// A writer for terminals: text passes through, but every control character other than
/// newline and tab (C0, DEL, C1 such as U+009B) and every byte that is not UTF-8 is
/// written as `\xNN`, so no escape sequence reaches the terminal raw, even from a value
/// that was not escaped upstream. Callers write whole strings (as `write!` does).
pub struct TerminalSafe<W: Write> {
    inner: W,
    out: Vec<u8>,
}

impl<W: Write> TerminalSafe<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        TerminalSafe {
            inner,
            out: Vec::new(),
        }
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for TerminalSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Fast path: printable ASCII, newlines and tabs pass as they are.
        if buf
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\t')
        {
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        self.out.clear();
        for chunk in buf.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() && c != '\n' && c != '\t' {
                    let mut tmp = [0u8; 4];
                    for b in c.encode_utf8(&mut tmp).bytes() {
                        self.out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
                    }
                } else {
                    let mut tmp = [0u8; 4];
                    self.out
                        .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
            for b in chunk.invalid() {
                self.out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
            }
        }
        self.inner.write_all(&self.out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the terminal report for people (through [`TerminalSafe`]).
pub fn write_terminal(
    sources: &[SourceSummary],
    summary: &Summary,
    limits: Limits,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut safe = TerminalSafe::new(w);
    let w: &mut dyn Write = &mut safe;
    let secs = summary.elapsed_ms as f64 / 1000.0;
    let rate = if secs > 0.0 {
        summary.lines as f64 / secs
    } else {
        0.0
    };
    writeln!(
        w,
        "scantriage: {} lines from {} input(s) in {:.2} s ({:.0} lines/s); {} unparsable",
        summary.lines,
        summary.inputs.len(),
        secs,
        rate,
        summary.parse_errors
    )?;
    for i in &summary.inputs {
        write!(w, "  {} [{}]: {} lines", i.name, i.format, i.lines)?;
        if i.skipped_lines > 0 {
            write!(w, ", {} already analysed (skipped)", i.skipped_lines)?;
        }
        if i.parse_errors > 0 {
            write!(w, ", {} unparsable", i.parse_errors)?;
        }
        if i.long_lines > 0 {
            write!(w, ", {} over-long", i.long_lines)?;
        }
        writeln!(w)?;
        for e in &i.first_errors {
            writeln!(w, "    {}:{}", i.name, e)?;
        }
        if let Some(e) = &i.read_error {
            writeln!(w, "    read error: {e}")?;
        }
    }
    if summary.lines == 0 && summary.inputs.iter().any(|i| i.skipped_lines > 0) {
        writeln!(
            w,
            "  nothing new since the last run (the store remembers where each input stopped); \
             use --no-store or another --db to analyse it all again"
        )?;
    }
    let v = summary.by_verdict;
    let findings = v.noise + v.unknown + v.relevant + v.urgent;
    writeln!(
        w,
        "\nevents: {} benign, {} noise, {} unknown, {} relevant, {} urgent; noise pruned: {:.1}% of {} findings",
        v.benign, v.noise, v.unknown, v.relevant, v.urgent, summary.noise_pruned_pct, findings
    )?;
    let d = &summary.decisions;
    writeln!(
        w,
        "sources: {} ({} block, {} watch, {} ignore)",
        summary.sources, d.block, d.watch, d.ignore
    )?;

    for h in &summary.inventory_hints {
        writeln!(
            w,
            "inventory check: `{}` is not in the inventory, yet it answered success to {} source(s), e.g. {}: \
             add it to the inventory if it runs here",
            h.product, h.sources, h.example
        )?;
    }

    for c in &summary.cdn_edges {
        writeln!(
            w,
            "proxy check: {} source(s) are {} edge addresses ({} requests); the log does not name the \
             visitors behind them, and they are never blocked. Log X-Forwarded-For (or restore client \
             addresses with the server's real-IP module) to see and block the clients",
            c.sources, c.provider, c.requests
        )?;
    }

    if !summary.cves_probed.is_empty() {
        writeln!(
            w,
            "\nCVES PROBED ({}, {} known exploited; affected ones first)",
            summary.cves_probed.len(),
            summary
                .cves_probed
                .iter()
                .filter(|c| c.known_exploited)
                .count()
        )?;
        for c in summary.cves_probed.iter().take(limits.campaigns) {
            let state = if c.affected {
                format!(
                    "AFFECTED: {} {} installed{}{}",
                    c.product.as_deref().unwrap_or("?"),
                    c.installed.as_deref().unwrap_or("?"),
                    c.fixed
                        .as_deref()
                        .map_or(String::from(", no fix known yet"), |f| format!(
                            ", upgrade to {f}"
                        )),
                    if c.known_exploited {
                        " (known exploited)"
                    } else {
                        ""
                    }
                )
            } else if c.known_exploited {
                "not affected (or not in the advisory database); known exploited".to_string()
            } else {
                "not affected (or not in the advisory database)".to_string()
            };
            writeln!(
                w,
                "  {:<16} {:>6} sources {:>7} requests  last {}  {}",
                c.cve, c.sources, c.requests, c.last_seen, state
            )?;
        }
    }

    let mut blocks: Vec<&SourceSummary> = sources
        .iter()
        .filter(|s| s.decision == DecisionKind::Block)
        .collect();
    blocks.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.findings.cmp(&a.findings))
            .then(a.ip.cmp(&b.ip))
    });
    writeln!(w, "\nSOURCES TO BLOCK ({})", blocks.len())?;
    if !blocks.is_empty() {
        writeln!(
            w,
            "  {:<40} {:>8} {:>8} {:>8}  REASON",
            "SOURCE", "FOR", "VERDICT", "FINDINGS"
        )?;
    }
    for s in blocks.iter().take(limits.blocks) {
        let reason = s.reasons.first().map(String::as_str).unwrap_or("");
        writeln!(
            w,
            "  {:<40} {:>8} {:>8} {:>8}  {}",
            s.ip.to_string(),
            human_duration(s.duration_secs),
            s.verdict.as_str(),
            s.findings,
            reason
        )?;
        for r in s.reasons.iter().skip(1) {
            writeln!(w, "  {:<69}  {}", "", r)?;
        }
    }
    if blocks.len() > limits.blocks {
        writeln!(
            w,
            "  ... and {} more (--output json lists all)",
            blocks.len() - limits.blocks
        )?;
    }

    write_network(sources, limits, w)?;

    let mut queue: Vec<&SourceSummary> = sources
        .iter()
        .filter(|s| s.decision == DecisionKind::Watch && s.verdict >= Verdict::Unknown)
        .collect();
    queue.sort_by(|a, b| {
        b.verdict
            .cmp(&a.verdict)
            .then(b.findings.cmp(&a.findings))
            .then(a.ip.cmp(&b.ip))
    });
    writeln!(
        w,
        "\nQUEUE FOR A PERSON ({}: watched, urgent / relevant / unknown)",
        queue.len()
    )?;
    for s in queue.iter().take(limits.queue) {
        let reason = s.reasons.first().map(String::as_str).unwrap_or("");
        writeln!(
            w,
            "  {:<40} {:>8}  {}",
            s.ip.to_string(),
            s.verdict.as_str(),
            reason
        )?;
    }
    if queue.len() > limits.queue {
        writeln!(
            w,
            "  ... and {} more (--output json lists all)",
            queue.len() - limits.queue
        )?;
    }

    writeln!(w, "\nTOP CAMPAIGNS (signature x sources)")?;
    if !summary.campaigns.is_empty() {
        writeln!(
            w,
            "  {:<36} {:<22} {:>8} {:>8} {:>8}",
            "SIGNATURE", "TARGET", "SOURCES", "REQUESTS", "VERDICT"
        )?;
    }
    for c in summary.campaigns.iter().take(limits.campaigns) {
        writeln!(
            w,
            "  {:<36} {:<22} {:>8} {:>8} {:>8}",
            c.signature,
            c.targets.join(","),
            c.sources,
            c.requests,
            c.verdict.as_str()
        )?;
    }
    write_campaigns(summary, limits, w)?;
    if let Some(s) = &summary.store {
        writeln!(w, "\nstore: {s}")?;
    }
    Ok(())
}

fn growth_text(g: &Growth) -> String {
    match g.ratio {
        Some(r) => format!("x{r:.1}"),
        None if g.sources_last_window > 0 => "new".into(),
        None => "-".into(),
    }
}

fn write_campaigns(summary: &Summary, limits: Limits, w: &mut dyn Write) -> io::Result<()> {
    let targets: Vec<&TargetCampaign> = summary
        .campaign_objects
        .iter()
        .filter_map(|c| match c {
            CampaignObject::Target(t) => Some(t),
            _ => None,
        })
        .collect();
    if !targets.is_empty() {
        writeln!(
            w,
            "\nCAMPAIGNS BY TARGET (sources probing each product; `not run here` = noise)"
        )?;
        // The ASNS column appears when an ASN database is configured.
        let with_asns = targets.iter().any(|t| t.asns.is_some());
        let asn_cell = |t: &TargetCampaign| match (with_asns, t.asns) {
            (false, _) => String::new(),
            (true, n) => format!(" {:>6}", n.unwrap_or(0)),
        };
        writeln!(
            w,
            "  {:<24} {:>8} {:>8}{} {:>8} {:>8} {:>6}  {:<14} TOP SIGNATURES",
            "TARGET",
            "SOURCES",
            "NETWORKS",
            if with_asns { "   ASNS" } else { "" },
            "REQUESTS",
            "VERDICT",
            "GROWTH",
            "HERE"
        )?;
        for t in targets.iter().take(limits.campaigns * 2) {
            writeln!(
                w,
                "  {:<24} {:>8} {:>8}{} {:>8} {:>8} {:>6}  {:<14} {}",
                t.target,
                t.sources,
                t.networks,
                asn_cell(t),
                t.requests,
                t.verdict.as_str(),
                growth_text(&t.growth),
                if t.installed || t.target == "generic" {
                    "runs here"
                } else {
                    "not run here"
                },
                t.signatures.join(", ")
            )?;
        }
        if targets.len() > limits.campaigns * 2 {
            writeln!(
                w,
                "  ... and {} more (--output json lists all)",
                targets.len() - limits.campaigns * 2
            )?;
        }
    }
    let emerging: Vec<&EmergingCampaign> = summary
        .campaign_objects
        .iter()
        .filter_map(|c| match c {
            CampaignObject::Emerging(e) => Some(e),
            _ => None,
        })
        .collect();
    if summary.waves.enabled {
        writeln!(
            w,
            "\nEMERGING CAMPAIGNS ({}: paths the site does not serve, requested by many unrelated sources; no signature yet)",
            emerging.len()
        )?;
    }
    for e in emerging {
        writeln!(
            w,
            "  {} {} {}: {} sources from {} networks{}, {} requests; first {}, detected {} ({}:{}), last {}",
            e.id,
            e.methods.join(","),
            e.template,
            e.sources,
            e.networks,
            e.asns.map(|n| format!(" ({n} ASNs)")).unwrap_or_default(),
            e.requests,
            e.first_seen.time,
            e.detected_at.time,
            e.detected_at.input,
            e.detected_at.line,
            e.last_seen
        )?;
        if e.templates.len() > 1 {
            writeln!(
                w,
                "    same sources also request: {}",
                e.templates[1..].join(", ")
            )?;
        }
        let statuses: Vec<String> = e
            .statuses
            .iter()
            .map(|(s, n)| format!("{s} x{n}"))
            .collect();
        writeln!(
            w,
            "    answers: {}; growth {}{}",
            statuses.join(", "),
            growth_text(&e.growth),
            if e.served_later {
                "; the site answered success later: it may be its own page"
            } else {
                ""
            }
        )?;
        for s in e.samples.iter().take(3) {
            writeln!(w, "    e.g. {s}")?;
        }
        if let Some(d) = &e.draft {
            match (&d.file, d.problems.is_empty()) {
                (Some(f), true) => writeln!(
                    w,
                    "    draft signature {} written to {f}; review it, then `scantriage rules accept {f}`",
                    d.id
                )?,
                (None, true) => writeln!(
                    w,
                    "    draft signature {} (pass --drafts DIR to write it)",
                    d.id
                )?,
                (_, false) => writeln!(
                    w,
                    "    draft signature {} failed its own check: {}",
                    d.id,
                    d.problems.join("; ")
                )?,
            }
        }
    }
    Ok(())
}

/// The share of findings that were noise, in percent (0 when there are none).
pub fn noise_share(by_verdict: &[u64; 5]) -> f64 {
    let findings: u64 = by_verdict[1..].iter().sum();
    (pct(by_verdict[1], findings) * 10.0).round() / 10.0
}

#[cfg(test)]
mod terminal_safe_tests {
    use super::TerminalSafe;
    use std::io::Write;

    #[test]
    fn control_sequences_never_pass_raw() {
        let mut t = TerminalSafe::new(Vec::new());
        write!(
            t,
            "a\u{1b}[31mred\u{1b}]8;;http://x\u{7}\u{9b}2J caf\u{e9}\n\tend"
        )
        .unwrap();
        t.write_all(b"\x9b\xff").unwrap();
        let out = String::from_utf8(t.into_inner()).unwrap();
        assert_eq!(
            out,
            "a\\x1b[31mred\\x1b]8;;http://x\\x07\\xc2\\x9b2J caf\u{e9}\n\tend\\x9b\\xff"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(0), "-");
        assert_eq!(human_duration(6 * 3600), "6h");
        assert_eq!(human_duration(86_400 + 1800), "1d30m");
    }

    #[test]
    fn noise_share_is_of_findings() {
        assert_eq!(noise_share(&[1000, 90, 0, 10, 0]), 90.0);
        assert_eq!(noise_share(&[5, 0, 0, 0, 0]), 0.0);
    }

    #[test]
    fn json_ends_with_summary_object() {
        let mut out = Vec::new();
        write_json(&[], &Summary::default(), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(v["summary"]["by_verdict"]["noise"].is_u64());
    }
}

/// One line of a login service's counts: failures, invalid users, the names tried, and
/// the accounts it then logged in as.
fn login_counts(x: &scantriage_core::SshSummary) -> String {
    let mut line = format!(
        "{} failed, {} invalid user(s), {} name(s): {}",
        x.failures,
        x.invalid_users,
        x.distinct_users,
        x.users.join(", ")
    );
    if x.accepted > 0 {
        line.push_str(&format!("  LOGGED IN as {}", x.accepted_users.join(", ")));
    }
    line
}
