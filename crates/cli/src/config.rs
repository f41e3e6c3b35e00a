//! The configuration file: serde form, validation with file and line, and building.

use scantriage_assess::{Inventory, PolicyConfig};
use scantriage_detect::Vocabulary;
use scantriage_ingest::{JsonFields, LogFormat};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One configuration problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// What the site is.
    pub site: SiteSection,
    /// What the server runs.
    pub inventory: InventorySection,
    /// How inputs are read.
    pub input: InputSection,
    /// Extra rules and product aliases.
    pub rules: RulesSection,
    /// Thresholds of the block policy.
    pub policy: PolicySection,
    /// Where state is kept.
    pub store: StoreSection,
    /// Campaigns and new waves.
    pub campaigns: CampaignsSection,
    /// How bans are enforced.
    pub enforce: crate::enforce_cmd::EnforceSection,
    /// Firewall logs, captures and sshd: prefixes, dating and thresholds.
    pub network: crate::network::NetworkSection,
    /// The dashboard.
    pub serve: ServeSection,
    /// The live service (`scantriage watch`).
    pub watch: WatchSection,
}

/// `[serve]`
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSection {
    /// Access token of the dashboard; required to listen on a non-loopback address.
    pub token: Option<String>,
}

/// `[watch]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchSection {
    /// Inputs followed besides those on the command line: paths, `journal`,
    /// `journal:sshd`, `journal:kernel`, `journal:mail` or `journal:ftp`; re-read on SIGHUP.
    pub inputs: Vec<Spanned<String>>,
    /// Address of the Prometheus endpoint (loopback only), e.g. `127.0.0.1:9477`.
    pub metrics: Option<Spanned<String>>,
}

/// `[site]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSection {
    /// The site runs server-side code (PHP, Python, ...): generic web attacks could work.
    pub dynamic: bool,
}

impl Default for SiteSection {
    fn default() -> Self {
        SiteSection { dynamic: true }
    }
}

/// `[inventory]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InventorySection {
    /// `[[inventory.product]]` entries.
    pub product: Vec<ProductEntry>,
    /// Document roots searched for web applications by `inventory discover`.
    pub docroots: Vec<PathBuf>,
    /// Extra package and process → product mapping (format of `crates/vuln/data/packages.toml`).
    pub package_map: Option<PathBuf>,
    /// The dpkg status file (default `/var/lib/dpkg/status`).
    pub dpkg_status: Option<PathBuf>,
}

/// One `[[inventory.product]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductEntry {
    /// Product name or alias (see `rules/README.md`).
    pub name: Spanned<String>,
    /// Installed version.
    #[serde(default)]
    pub version: Option<String>,
}

/// `[input]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputSection {
    /// `auto`, `combined` (also `common`), `nginx-json` or `caddy`.
    pub format: Spanned<String>,
    /// Reverse proxies whose X-Forwarded-For names the client.
    pub trusted_proxies: Vec<Spanned<String>>,
    /// The built-in CDN and cloud load balancer ranges are trusted proxies and never
    /// blocked.
    pub cdn_ranges: bool,
    /// Private and loopback peers (a local reverse proxy or load balancer) are trusted
    /// proxies: their X-Forwarded-For names the client.
    pub private_proxies: bool,
    /// Longest line kept whole; longer lines are cut.
    pub max_line_bytes: usize,
    /// Key names of nginx JSON logs.
    pub json_fields: JsonFields,
    /// Worker threads for batch analysis (0: one per core).
    pub threads: usize,
}

impl Default for InputSection {
    fn default() -> Self {
        InputSection {
            format: Spanned::new(0..0, "auto".into()),
            trusted_proxies: Vec::new(),
            cdn_ranges: true,
            private_proxies: true,
            max_line_bytes: scantriage_ingest::MAX_LINE,
            json_fields: JsonFields::default(),
            threads: 0,
        }
    }
}

/// `[rules]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesSection {
    /// Directories of extra `*.toml` rule files (a rule with an embedded id replaces it).
    pub dirs: Vec<PathBuf>,
    /// Extra product aliases: alias = canonical product.
    pub aliases: BTreeMap<String, Spanned<String>>,
    /// Treat a bad rule as fatal.
    pub strict: bool,
}

/// `[policy]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    /// Block duration for urgent findings.
    pub block_urgent: Spanned<String>,
    /// Block duration for exploit payloads that could work here.
    pub block_exploit: Spanned<String>,
    /// Block duration for login brute force.
    pub block_bruteforce: Spanned<String>,
    /// Block duration for a port scan.
    pub block_portscan: Spanned<String>,
    /// Block duration for repeated relevant probes.
    pub block_relevant: Spanned<String>,
    /// How long a watch lasts.
    pub watch: Spanned<String>,
    /// Relevant probes from one source that make a block.
    pub relevant_block_after: u64,
    /// Login attempts within `login_fast_window` that make a block.
    pub login_fast_attempts: u64,
    /// The fast login window.
    pub login_fast_window: Spanned<String>,
    /// Login attempts within `login_slow_window` that make a block.
    pub login_slow_attempts: u64,
    /// The slow login window.
    pub login_slow_window: Spanned<String>,
    /// Scripted login attempts (no Referer) within `login_slow_window` that make a block.
    pub login_scripted_attempts: u64,
    /// Login attempts below the thresholds that still put a source on watch.
    pub login_watch_attempts: u64,
    /// Also block exploits for software this server does not run.
    pub block_noise_exploits: bool,
    /// Each earlier block multiplies the duration by this.
    pub escalation_factor: u32,
    /// Longest block after escalation.
    pub max_block: Spanned<String>,
    /// Prefixes never blocked (loopback is always added).
    pub allowlist: Vec<Spanned<String>>,
}

fn dur(secs: u64) -> Spanned<String> {
    Spanned::new(
        0..0,
        humantime::format_duration(std::time::Duration::from_secs(secs)).to_string(),
    )
}

impl Default for PolicySection {
    fn default() -> Self {
        let d = PolicyConfig::default();
        PolicySection {
            block_urgent: dur(d.block_urgent_secs),
            block_exploit: dur(d.block_exploit_secs),
            block_bruteforce: dur(d.block_bruteforce_secs),
            block_portscan: dur(d.block_portscan_secs),
            block_relevant: dur(d.block_relevant_secs),
            watch: dur(d.watch_secs),
            relevant_block_after: d.relevant_block_after,
            login_fast_attempts: d.login_fast_attempts,
            login_fast_window: dur(d.login_fast_window_secs),
            login_slow_attempts: d.login_slow_attempts,
            login_slow_window: dur(d.login_slow_window_secs),
            login_scripted_attempts: d.login_scripted_attempts,
            login_watch_attempts: d.login_watch_attempts,
            block_noise_exploits: d.block_noise_exploits,
            escalation_factor: d.escalation_factor,
            max_block: dur(d.max_block_secs),
            allowlist: Vec::new(),
        }
    }
}

/// `[campaigns]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignsSection {
    /// Group findings into campaigns and look for new waves (`--no-campaigns` turns it off).
    pub enabled: bool,
    /// Window within which a wave's sources are counted.
    pub window: Spanned<String>,
    /// Distinct sources within the window that make a new wave.
    pub min_sources: u32,
    /// Distinct networks (/24, /48) within the window that make a new wave.
    pub min_networks: u32,
    /// Unknown path templates tracked at most (bounds memory; the rest are evicted).
    pub max_templates: usize,
    /// Files listing the site's own paths (one per line, or a sitemap's `<loc>` URLs).
    pub site_paths: Vec<PathBuf>,
    /// Where drafted signatures are written (none when unset; `--drafts` overrides).
    pub drafts_dir: Option<PathBuf>,
    /// A MaxMind-format ASN database (e.g. GeoLite2-ASN.mmdb): campaigns then count
    /// autonomous systems too.
    pub asn_db: Option<PathBuf>,
}

impl Default for CampaignsSection {
    fn default() -> Self {
        let w = scantriage_assess::waves::WaveConfig::default();
        CampaignsSection {
            enabled: true,
            window: dur(w.window_secs as u64),
            min_sources: w.min_sources,
            min_networks: w.min_networks,
            max_templates: w.max_templates,
            site_paths: Vec::new(),
            drafts_dir: None,
            asn_db: None,
        }
    }
}

/// Validated `[campaigns]` settings.
#[derive(Debug, Clone)]
pub struct CampaignsConfig {
    /// Campaigns and waves are computed.
    pub enabled: bool,
    /// Thresholds and bounds of the wave detector.
    pub waves: scantriage_assess::waves::WaveConfig,
    /// Files listing the site's own paths.
    pub site_paths: Vec<PathBuf>,
    /// Where drafted signatures are written.
    pub drafts_dir: Option<PathBuf>,
    /// The ASN database, when one is configured.
    pub asn_db: Option<PathBuf>,
}

/// `[store]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Path of the SQLite store (default: see the README).
    pub path: Option<PathBuf>,
}

/// A validated configuration, ready to use.
#[derive(Debug)]
pub struct Config {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    /// Product vocabulary with the config's aliases.
    pub vocab: Vocabulary,
    /// What the server runs.
    pub inventory: Inventory,
    /// Forced format, or `None` to detect per input.
    pub format: Option<LogFormat>,
    /// Trusted reverse proxies (with the built-in CDN ranges when enabled).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The built-in CDN ranges, when `input.cdn_ranges` is on (else empty).
    pub cdn: Vec<(ipnet::IpNet, &'static str)>,
    /// Longest line kept whole.
    pub max_line_bytes: usize,
    /// JSON key names.
    pub json_fields: JsonFields,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Extra rule directories.
    pub rule_dirs: Vec<PathBuf>,
    /// Bad rules are fatal.
    pub strict_rules: bool,
    /// Policy thresholds.
    pub policy: PolicyConfig,
    /// Campaigns and new waves.
    pub campaigns: CampaignsConfig,
    /// Store path from the config.
    pub store_path: Option<PathBuf>,
    /// Document roots searched for web applications.
    pub docroots: Vec<PathBuf>,
    /// Extra package map file.
    pub package_map: Option<PathBuf>,
    /// The dpkg status file, when not the default.
    pub dpkg_status: Option<PathBuf>,
    /// How bans are enforced.
    pub enforce: crate::enforce_cmd::EnforceConfig,
    /// Firewall logs, captures and sshd.
    pub network: crate::network::NetworkConfig,
    /// The dashboard.
    pub serve: ServeSection,
    /// Inputs `watch` follows besides those on its command line.
    pub watch_inputs: Vec<String>,
    /// Where `watch` serves its metrics.
    pub metrics: Option<std::net::SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        build(ConfigFile::default(), "", "<defaults>").expect("defaults are valid")
    }
}

fn line_of(text: &str, span: std::ops::Range<usize>) -> usize {
    if span.is_empty() && span.start == 0 {
        return 0;
    }
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

/// Reads and validates a configuration file; every problem is reported, each with its line.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let mut cfg = parse(&text, &name)?;
    cfg.source = Some(path.to_path_buf());
    Ok(cfg)
}

/// Parses and validates configuration text (`name` is used in messages).
pub fn parse(text: &str, name: &str) -> Result<Config, Vec<ConfigError>> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| {
        vec![ConfigError {
            file: name.to_string(),
            line: e.span().map_or(0, |s| line_of(text, s.start..s.start + 1)),
            message: e.message().to_string(),
        }]
    })?;
    build(file, text, name)
}

fn build(file: ConfigFile, text: &str, name: &str) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut err = |span: std::ops::Range<usize>, message: String| {
        errors.push(ConfigError {
            file: name.to_string(),
            line: line_of(text, span),
            message,
        })
    };
    let mut vocab = Vocabulary::default();
    for (alias, product) in &file.rules.aliases {
        if let Err(e) = vocab.add_alias(alias, product.get_ref()) {
            err(product.span(), format!("rules.aliases: {e}"));
        }
    }
    let mut inventory = Inventory::new(file.site.dynamic);
    for p in &file.inventory.product {
        if let Err(e) = inventory.add(&vocab, p.name.get_ref(), p.version.clone()) {
            err(p.name.span(), format!("inventory.product: {e}"));
        }
    }
    let format = match file.input.format.get_ref().as_str() {
        "auto" => None,
        f => match f.parse::<LogFormat>() {
            Ok(f) => Some(f),
            Err(_) => {
                err(
                    file.input.format.span(),
                    format!("input.format: unknown format `{f}`, expected auto, combined, common, nginx-json or caddy"),
                );
                None
            }
        },
    };
    let nets = |list: &[Spanned<String>],
                what: &str,
                err: &mut dyn FnMut(std::ops::Range<usize>, String)| {
        let mut out = Vec::new();
        for s in list {
            let v = s.get_ref();
            match v.parse::<ipnet::IpNet>().or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)) {
                Ok(n) => out.push(n),
                Err(_) => err(s.span(), format!("{what}: `{v}` is not an address or prefix (e.g. 192.0.2.0/24, 2001:db8::/32)")),
            }
        }
        out
    };
    let mut trusted_proxies = nets(
        &file.input.trusted_proxies,
        "input.trusted_proxies",
        &mut err,
    );
    let mut allowlist = nets(&file.policy.allowlist, "policy.allowlist", &mut err);
    allowlist.push("127.0.0.0/8".parse().unwrap());
    allowlist.push("::1/128".parse().unwrap());
    // A CDN edge address carries many visitors: never blocked, and its forwarded-for
    // names the client.
    let cdn = if file.input.cdn_ranges {
        scantriage_core::cdn::cdn_networks()
    } else {
        Vec::new()
    };
    trusted_proxies.extend(cdn.iter().map(|(n, _)| *n));
    if file.input.private_proxies {
        // Nobody on the internet reaches the server from these: a peer there that
        // forwards a client's address is the site's own proxy or load balancer.
        for n in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "127.0.0.0/8",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
        ] {
            trusted_proxies.push(n.parse().expect("valid range"));
        }
    }
    allowlist.extend(cdn.iter().map(|(n, _)| *n));
    let mut secs = |s: &Spanned<String>, what: &str| -> u64 {
        match humantime::parse_duration(s.get_ref()) {
            Ok(d) => d.as_secs(),
            Err(e) => {
                err(
                    s.span(),
                    format!(
                        "policy.{what}: `{}` is not a duration ({e}); write e.g. 6h, 7d, 30m",
                        s.get_ref()
                    ),
                );
                0
            }
        }
    };
    let p = &file.policy;
    let policy = PolicyConfig {
        block_urgent_secs: secs(&p.block_urgent, "block_urgent"),
        block_exploit_secs: secs(&p.block_exploit, "block_exploit"),
        block_bruteforce_secs: secs(&p.block_bruteforce, "block_bruteforce"),
        block_portscan_secs: secs(&p.block_portscan, "block_portscan"),
        block_relevant_secs: secs(&p.block_relevant, "block_relevant"),
        watch_secs: secs(&p.watch, "watch"),
        relevant_block_after: p.relevant_block_after,
        login_fast_attempts: p.login_fast_attempts,
        login_fast_window_secs: secs(&p.login_fast_window, "login_fast_window"),
        login_slow_attempts: p.login_slow_attempts,
        login_slow_window_secs: secs(&p.login_slow_window, "login_slow_window"),
        login_scripted_attempts: p.login_scripted_attempts,
        login_watch_attempts: p.login_watch_attempts,
        block_noise_exploits: p.block_noise_exploits,
        escalation_factor: p.escalation_factor,
        max_block_secs: secs(&p.max_block, "max_block"),
        allowlist,
    };
    let c = &file.campaigns;
    let window_secs = match humantime::parse_duration(c.window.get_ref()) {
        Ok(d) if d.as_secs() > 0 => d.as_secs() as i64,
        _ => {
            err(
                c.window.span(),
                format!(
                    "campaigns.window: `{}` is not a positive duration; write e.g. 24h, 6h",
                    c.window.get_ref()
                ),
            );
            1
        }
    };
    if c.min_sources == 0 || c.max_templates == 0 {
        err(
            0..0,
            "campaigns.min_sources and campaigns.max_templates: must be at least 1".into(),
        );
    }
    let campaigns = CampaignsConfig {
        enabled: c.enabled,
        waves: scantriage_assess::waves::WaveConfig {
            window_secs,
            min_sources: c.min_sources,
            min_networks: c.min_networks,
            max_templates: c.max_templates,
        },
        site_paths: c.site_paths.clone(),
        drafts_dir: c.drafts_dir.clone(),
        asn_db: c.asn_db.clone(),
    };
    let enforce = crate::enforce_cmd::validate(&file.enforce, &mut err);
    let network = crate::network::validate(&file.network, &mut err);
    let mut watch_inputs = Vec::new();
    for i in &file.watch.inputs {
        let v = i.get_ref();
        if v.is_empty() || (v.starts_with("journal") && crate::watch::journal_matches(v).is_none())
        {
            err(
                i.span(),
                format!(
                    "watch.inputs: `{v}` is not a path, journal, journal:sshd, journal:kernel, journal:mail or journal:ftp"
                ),
            );
        } else {
            watch_inputs.push(v.clone());
        }
    }
    let metrics = file.watch.metrics.as_ref().and_then(|m| {
        match m.get_ref().parse::<std::net::SocketAddr>() {
            Ok(a) if a.ip().is_loopback() => Some(a),
            _ => {
                err(
                    m.span(),
                    format!(
                        "watch.metrics: `{}` is not a loopback address and port (e.g. 127.0.0.1:9477)",
                        m.get_ref()
                    ),
                );
                None
            }
        }
    });
    if file.input.max_line_bytes < 256 {
        errors.push(ConfigError {
            file: name.to_string(),
            line: 0,
            message: "input.max_line_bytes: must be at least 256".into(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        source: None,
        vocab,
        inventory,
        format,
        trusted_proxies,
        cdn,
        max_line_bytes: file.input.max_line_bytes,
        json_fields: file.input.json_fields,
        threads: file.input.threads,
        rule_dirs: file.rules.dirs,
        strict_rules: file.rules.strict,
        policy,
        campaigns,
        store_path: file.store.path,
        docroots: file.inventory.docroots,
        package_map: file.inventory.package_map,
        dpkg_status: file.inventory.dpkg_status,
        enforce,
        network,
        serve: file.serve,
        watch_inputs,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_and_policy_parse() {
        let c = parse(
            "[site]\ndynamic = true\n\n[[inventory.product]]\nname = \"wordpress\"\nversion = \"6.4.2\"\n\n[policy]\nblock_exploit = \"2d\"\nallowlist = [\"192.0.2.0/24\"]\n",
            "c.toml",
        )
        .unwrap();
        assert!(c.inventory.has("wordpress"));
        assert_eq!(
            c.inventory.get("wordpress").unwrap().version.as_deref(),
            Some("6.4.2")
        );
        assert_eq!(c.policy.block_exploit_secs, 2 * 86_400);
        assert!(c
            .policy
            .allowlist
            .iter()
            .any(|n| n.to_string() == "192.0.2.0/24"));
        assert!(c
            .policy
            .allowlist
            .iter()
            .any(|n| n.to_string() == "127.0.0.0/8"));
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let text = "[[inventory.product]]\nname = \"nosuch\"\n\n[policy]\nwatch = \"soon\"\nallowlist = [\"not-an-ip\"]\n";
        let errs = parse(text, "c.toml").unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 6, 5], "{errs:?}");
        assert!(errs[0]
            .to_string()
            .starts_with("c.toml:2: inventory.product: unknown product `nosuch`"));
        let errs = parse("[site]\ndynamc = true\n", "c.toml").unwrap_err();
        assert_eq!(errs[0].line, 2);
        assert!(errs[0].message.contains("dynamc"), "{}", errs[0]);
    }
}

#[cfg(test)]
mod readme_tests {
    /// The configuration reference in the README is a valid configuration: every key
    /// it shows exists, with a value of the right kind.
    #[test]
    fn readme_configuration_reference_parses() {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("## Configuration reference")
            .nth(1)
            .expect("README has a configuration reference");
        let toml = section
            .split("```toml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .expect("the reference has a toml block");
        if let Err(errors) = super::parse(toml, "README.md") {
            panic!("{errors:?}");
        }
    }
}
