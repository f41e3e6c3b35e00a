//! Discovery of what this server runs: installed packages (the dpkg status file,
//! `rpm -qa`), listening sockets mapped to their processes, and web applications under
//! the document roots. Nothing here needs root: what cannot be read is skipped and said.

use crate::packages::PackageMap;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Source package name (the name advisories use for Debian).
    pub source: String,
    /// `dpkg` or `rpm`.
    pub manager: String,
}

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// `tcp` or `udp`.
    pub proto: String,
    /// Local address (`0.0.0.0` or `::` for every address).
    pub addr: IpAddr,
    /// Local port.
    pub port: u16,
    /// Socket inode.
    pub inode: u64,
    /// Processes holding it (empty when their fds could not be read).
    pub pids: Vec<u32>,
    /// Process name (`comm`) of the first holder.
    pub process: Option<String>,
    /// Product the process is, from the package map.
    pub product: Option<String>,
    /// Bound to a non-loopback address: reachable from outside unless a firewall says no.
    pub exposed: bool,
}

/// A web application found under a document root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebApp {
    /// Product.
    pub product: String,
    /// Version read from its files.
    pub version: String,
    /// Its directory.
    pub path: PathBuf,
}

/// One product this server runs, with where that is known from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// Canonical product name.
    pub product: String,
    /// Installed version, when known.
    pub version: Option<String>,
    /// The package it comes from, when packaged.
    pub package: Option<String>,
    /// The source package (advisories of distributions name it).
    pub source_package: Option<String>,
    /// Ecosystem of the package (`Debian:13`), when packaged.
    pub ecosystem: Option<String>,
    /// `config`, `dpkg`, `rpm`, `webapp:PATH` or `process`.
    pub origin: String,
    /// Listening on a non-loopback address (or served by a web server that is).
    pub exposed: bool,
    /// Its listening sockets (`tcp 0.0.0.0:22`).
    pub listens: Vec<String>,
}

/// Everything discovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// When, in milliseconds since the epoch.
    pub taken_ms: i64,
    /// The host's package ecosystem (`Debian:13`), from /etc/os-release.
    pub ecosystem: Option<String>,
    /// Installed packages (all of them).
    pub packages: Vec<Package>,
    /// Listening sockets.
    pub listeners: Vec<Listener>,
    /// Web applications under the document roots.
    pub webapps: Vec<WebApp>,
    /// Products, merged from every origin.
    pub products: Vec<Installed>,
    /// What could not be read, and other remarks for the person.
    pub notes: Vec<String>,
}

/// Where discovery looks.
#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// The dpkg status file (skipped when absent).
    pub dpkg_status: PathBuf,
    /// Run `rpm -qa` when an rpm binary is present.
    pub rpm: bool,
    /// The proc file system.
    pub proc_root: PathBuf,
    /// /etc/os-release.
    pub os_release: PathBuf,
    /// Document roots to search for web applications.
    pub docroots: Vec<PathBuf>,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            dpkg_status: PathBuf::from("/var/lib/dpkg/status"),
            rpm: true,
            proc_root: PathBuf::from("/proc"),
            os_release: PathBuf::from("/etc/os-release"),
            docroots: Vec::new(),
        }
    }
}

/// Parses a dpkg status file: packages whose status is `installed`.
pub fn parse_dpkg_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut f: HashMap<&str, &str> = HashMap::new();
        for line in para.lines() {
            if line.starts_with([' ', '\t']) {
                continue; // continuation of a multi-line field
            }
            if let Some((k, v)) = line.split_once(':') {
                f.insert(k.trim(), v.trim());
            }
        }
        let (Some(name), Some(version), Some(status)) =
            (f.get("Package"), f.get("Version"), f.get("Status"))
        else {
            continue;
        };
        if !status.ends_with(" installed") {
            continue;
        }
        // `Source: name (version)` when the source version differs.
        let source = f
            .get("Source")
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or(name);
        out.push(Package {
            name: name.to_string(),
            version: version.to_string(),
            source: source.to_string(),
            manager: "dpkg".into(),
        });
    }
    out
}

/// Parses the output of `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\t%{SOURCERPM}\n'`.
pub fn parse_rpm_qa(text: &str) -> Vec<Package> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split('\t');
            let name = it.next()?.trim();
            let evr = it.next()?.trim();
            let srpm = it.next().unwrap_or("").trim();
            if name.is_empty() || evr.is_empty() {
                return None;
            }
            let evr = evr.strip_prefix("0:").unwrap_or(evr);
            // foo-1.2-3.el9.src.rpm → foo
            let source = srpm
                .strip_suffix(".src.rpm")
                .and_then(|s| s.rsplitn(3, '-').nth(2))
                .unwrap_or(name);
            Some(Package {
                name: name.to_string(),
                version: evr.to_string(),
                source: source.to_string(),
                manager: "rpm".into(),
            })
        })
        .collect()
}

/// The host's ecosystem from os-release text: `Debian:13`, `Ubuntu:24.04`, ...
pub fn ecosystem_from_os_release(text: &str) -> Option<String> {
    let mut kv = HashMap::new();
    for l in text.lines() {
        if let Some((k, v)) = l.split_once('=') {
            kv.insert(k.trim(), v.trim().trim_matches('"'));
        }
    }
    let id = *kv.get("ID")?;
    let name = match id {
        "debian" => "Debian",
        "ubuntu" => "Ubuntu",
        "almalinux" => "AlmaLinux",
        "rocky" => "Rocky Linux",
        "rhel" => "Red Hat",
        _ => return None,
    };
    match (kv.get("VERSION_ID"), kv.get("VERSION_CODENAME")) {
        (Some(v), _) if !v.is_empty() => Some(format!("{name}:{v}")),
        (_, Some(c)) if id == "debian" => Some(crate::advisory::debian_ecosystem(c)),
        _ => Some(name.to_string()),
    }
}

fn parse_hex_addr(hex: &str) -> Option<IpAddr> {
    match hex.len() {
        8 => {
            let n = u32::from_str_radix(hex, 16).ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(n.swap_bytes())))
        }
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                let w = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
                b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

/// Parses one /proc/net/{tcp,tcp6,udp,udp6} table: listening TCP sockets (state 0A) and
/// bound UDP sockets (state 07 with no remote end).
pub fn parse_proc_net(text: &str, proto: &str) -> Vec<Listener> {
    let want = if proto == "tcp" { "0A" } else { "07" };
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 || f[3] != want {
            continue;
        }
        let Some((a, p)) = f[1].split_once(':') else {
            continue;
        };
        if proto == "udp" && !f[2].ends_with(":0000") {
            continue;
        }
        let (Some(addr), Ok(port), Ok(inode)) =
            (parse_hex_addr(a), u16::from_str_radix(p, 16), f[9].parse())
        else {
            continue;
        };
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        out.push(Listener {
            proto: proto.to_string(),
            addr,
            port,
            inode,
            pids: Vec::new(),
            process: None,
            product: None,
            exposed: !addr.is_loopback(),
        });
    }
    out
}

/// Finds listening sockets under `proc_root` and the processes holding them. Processes
/// whose fds cannot be read (other users', without root) are counted in the returned
/// note.
pub fn listeners(proc_root: &Path, map: &PackageMap) -> (Vec<Listener>, Vec<String>) {
    let mut notes = Vec::new();
    let mut all = Vec::new();
    for (file, proto) in [
        ("tcp", "tcp"),
        ("tcp6", "tcp"),
        ("udp", "udp"),
        ("udp6", "udp"),
    ] {
        let p = proc_root.join("net").join(file);
        match std::fs::read_to_string(&p) {
            Ok(t) => all.extend(parse_proc_net(&t, proto)),
            Err(e) => notes.push(format!("{}: {e}", p.display())),
        }
    }
    let wanted: HashMap<u64, usize> = all
        .iter()
        .enumerate()
        .filter(|(_, l)| l.inode != 0)
        .map(|(i, l)| (l.inode, i))
        .collect();
    let mut holders: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut unreadable = 0u64;
    if let Ok(dir) = std::fs::read_dir(proc_root) {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let fds = match std::fs::read_dir(e.path().join("fd")) {
                Ok(d) => d,
                Err(_) => {
                    unreadable += 1;
                    continue;
                }
            };
            for fd in fds.flatten() {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                let t = target.to_string_lossy();
                if let Some(inode) = t
                    .strip_prefix("socket:[")
                    .and_then(|s| s.strip_suffix(']'))
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    if wanted.contains_key(&inode) {
                        let v = holders.entry(inode).or_default();
                        if !v.contains(&pid) {
                            v.push(pid);
                        }
                    }
                }
            }
        }
    }
    if unreadable > 0 {
        notes.push(format!(
            "{unreadable} process(es) whose open files could not be read (run as root to map every socket to its process)"
        ));
    }
    for l in &mut all {
        if let Some(pids) = holders.get_mut(&l.inode) {
            pids.sort_unstable();
            l.pids = pids.clone();
            l.process = l.pids.iter().find_map(|pid| {
                std::fs::read_to_string(proc_root.join(pid.to_string()).join("comm"))
                    .ok()
                    .map(|s| s.trim().to_string())
            });
            l.product = l
                .process
                .as_deref()
                .and_then(|c| map.product_for_process(c))
                .map(str::to_string);
        }
    }
    all.sort_by(|a, b| (&a.proto, a.port, a.addr).cmp(&(&b.proto, b.port, b.addr)));
    all.dedup_by(|a, b| a.inode == b.inode && a.inode != 0);
    (all, notes)
}

fn quoted_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest.trim_start_matches([' ', '\t', '=', '>', ':', '(', ',']);
    let q = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(q)?])
}

fn php_int_after(text: &str, key: &str) -> Option<u32> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest.trim_start_matches([' ', '=', '\t']);
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// Recognises a web application installed in `dir` and reads its version.
pub fn webapp_in(dir: &Path) -> Option<WebApp> {
    let read = |rel: &str| std::fs::read_to_string(dir.join(rel)).ok();
    let app = |product: &str, version: &str| {
        Some(WebApp {
            product: product.into(),
            version: version.into(),
            path: dir.to_path_buf(),
        })
    };
    if let Some(t) = read("wp-includes/version.php") {
        return app("wordpress", quoted_after(&t, "$wp_version")?);
    }
    if let Some(t) = read("core/lib/Drupal.php") {
        return app("drupal", quoted_after(&t, "const VERSION")?);
    }
    if let Some(t) = read("includes/bootstrap.inc") {
        if let Some(v) = quoted_after(&t, "define('VERSION'") {
            return app("drupal", v);
        }
    }
    if let Some(t) = read("libraries/src/Version.php") {
        let (a, b, c) = (
            php_int_after(&t, "const MAJOR_VERSION")?,
            php_int_after(&t, "const MINOR_VERSION")?,
            php_int_after(&t, "const PATCH_VERSION")?,
        );
        return app("joomla", &format!("{a}.{b}.{c}"));
    }
    if let Some(t) = read("libraries/cms/version/version.php") {
        let rel = quoted_after(&t, "$RELEASE")?;
        let dev = quoted_after(&t, "$DEV_LEVEL")?;
        return app("joomla", &format!("{rel}.{dev}"));
    }
    if let Some(t) = read("libraries/classes/Version.php").or_else(|| read("src/Version.php")) {
        if t.to_ascii_lowercase().contains("phpmyadmin") {
            return app("phpmyadmin", quoted_after(&t, "const VERSION")?);
        }
    }
    if let Some(t) = read("version.php") {
        if t.contains("$OC_VersionString") {
            let product = if t.contains("'owncloud'") {
                "owncloud"
            } else {
                "nextcloud"
            };
            return app(product, quoted_after(&t, "$OC_VersionString")?);
        }
    }
    if let Some(t) = read("composer.lock") {
        #[derive(Deserialize)]
        struct Lock {
            #[serde(default)]
            packages: Vec<LockPkg>,
        }
        #[derive(Deserialize)]
        struct LockPkg {
            name: String,
            version: String,
        }
        let lock: Lock = serde_json::from_str(&t).ok()?;
        let p = lock
            .packages
            .iter()
            .find(|p| p.name == "laravel/framework")?;
        return app("laravel", p.version.trim_start_matches('v'));
    }
    None
}

/// Searches each document root (and its subdirectories, two levels down) for web
/// applications.
pub fn webapps(docroots: &[PathBuf], notes: &mut Vec<String>) -> Vec<WebApp> {
    let mut out = Vec::new();
    fn walk(dir: &Path, depth: u32, out: &mut Vec<WebApp>) {
        if let Some(app) = webapp_in(dir) {
            out.push(app);
            return;
        }
        if depth == 0 {
            return;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subdirs: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        for d in subdirs {
            walk(&d, depth - 1, out);
        }
    }
    for root in docroots {
        if !root.is_dir() {
            notes.push(format!("document root {}: not a directory", root.display()));
            continue;
        }
        walk(root, 2, &mut out);
    }
    out
}

/// Runs discovery.
pub fn discover(opts: &DiscoverOptions, map: &PackageMap, now_ms: i64) -> Discovery {
    let mut d = Discovery {
        taken_ms: now_ms,
        ..Default::default()
    };
    d.ecosystem = std::fs::read_to_string(&opts.os_release)
        .ok()
        .and_then(|t| ecosystem_from_os_release(&t));
    match std::fs::read_to_string(&opts.dpkg_status) {
        Ok(t) => d.packages = parse_dpkg_status(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => d.notes.push(format!("{}: {e}", opts.dpkg_status.display())),
    }
    if opts.rpm {
        if let Ok(o) = std::process::Command::new("rpm")
            .args([
                "-qa",
                "--qf",
                "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{SOURCERPM}\\n",
            ])
            .stderr(std::process::Stdio::null())
            .output()
        {
            if o.status.success() {
                d.packages
                    .extend(parse_rpm_qa(&String::from_utf8_lossy(&o.stdout)));
            }
        }
    }
    let (ls, notes) = listeners(&opts.proc_root, map);
    d.listeners = ls;
    d.notes.extend(notes);
    d.webapps = webapps(&opts.docroots, &mut d.notes);
    d.products = products_of(&d, map);
    d
}

/// The products that packages, web applications and listening processes show.
pub fn products_of(d: &Discovery, map: &PackageMap) -> Vec<Installed> {
    let mut by_key: BTreeMap<(String, String), Installed> = BTreeMap::new();
    for p in &d.packages {
        let Some(product) = map
            .product_for_package(&p.name)
            .or_else(|| map.product_for_package(&p.source))
        else {
            continue;
        };
        let eco = if p.manager == "dpkg" || p.manager == "rpm" {
            d.ecosystem.clone()
        } else {
            None
        };
        by_key
            .entry((product.to_string(), p.source.clone()))
            .or_insert_with(|| Installed {
                product: product.to_string(),
                version: Some(p.version.clone()),
                package: Some(p.name.clone()),
                source_package: Some(p.source.clone()),
                ecosystem: eco,
                origin: p.manager.clone(),
                exposed: false,
                listens: Vec::new(),
            });
    }
    for w in &d.webapps {
        by_key.insert(
            (w.product.clone(), w.path.display().to_string()),
            Installed {
                product: w.product.clone(),
                version: Some(w.version.clone()),
                package: None,
                source_package: None,
                ecosystem: None,
                origin: format!("webapp:{}", w.path.display()),
                exposed: false,
                listens: Vec::new(),
            },
        );
    }
    let mut out: Vec<Installed> = by_key.into_values().collect();
    let web_exposed = d
        .listeners
        .iter()
        .any(|l| l.exposed && matches!(l.product.as_deref(), Some("nginx" | "apache-httpd")));
    for l in &d.listeners {
        let Some(product) = &l.product else { continue };
        let desc = format!("{} {}", l.proto, sock(l.addr, l.port));
        let mut found = false;
        for i in out.iter_mut().filter(|i| &i.product == product) {
            found = true;
            i.exposed |= l.exposed;
            if !i.listens.contains(&desc) {
                i.listens.push(desc.clone());
            }
        }
        if !found {
            out.push(Installed {
                product: product.clone(),
                version: None,
                package: None,
                source_package: None,
                ecosystem: None,
                origin: "process".into(),
                exposed: l.exposed,
                listens: vec![desc],
            });
        }
    }
    if web_exposed {
        for i in &mut out {
            if i.origin.starts_with("webapp:") || i.product == "php" {
                i.exposed = true;
            }
        }
    }
    out
}

/// `addr:port`, with brackets for IPv6.
pub fn sock(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V6(a) => format!("[{a}]:{port}"),
        IpAddr::V4(a) => format!("{a}:{port}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_lines() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 21791 1 0000000000000000 100 0 0 10 0\n   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18800 1 0\n   2: 0100007F:9C40 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000   105        0 1 1 0\n";
        let l = parse_proc_net(t, "tcp");
        assert_eq!(l.len(), 2);
        assert_eq!(sock(l[0].addr, l[0].port), "127.0.0.1:3306");
        assert!(!l[0].exposed);
        assert_eq!(l[1].port, 22);
        assert!(l[1].exposed);
        let t6 = "header\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 0 0 0 0 0 77 1\n   1: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 0 0 0 0 0 78 1\n";
        let l = parse_proc_net(t6, "tcp");
        assert_eq!(l[0].addr, "::1".parse::<IpAddr>().unwrap());
        assert!(!l[0].exposed);
        assert_eq!(l[1].addr, "::".parse::<IpAddr>().unwrap());
        assert_eq!(l[1].port, 443);
    }

    #[test]
    fn rpm_and_os_release() {
        let p = parse_rpm_qa("httpd\t0:2.4.57-5.el9\thttpd-2.4.57-5.el9.src.rpm\n");
        assert_eq!(p[0].version, "2.4.57-5.el9");
        assert_eq!(p[0].source, "httpd");
        assert_eq!(
            ecosystem_from_os_release("ID=debian\nVERSION_ID=\"12\"\n").as_deref(),
            Some("Debian:12")
        );
        assert_eq!(
            ecosystem_from_os_release("ID=debian\nVERSION_CODENAME=trixie\n").as_deref(),
            Some("Debian:13")
        );
    }
}
