//! The package and process name → product mapping, as data that users can extend.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The mapping shipped with scantriage.
pub const DEFAULT_MAP: &str = include_str!("../data/packages.toml");

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MapFile {
    packages: BTreeMap<String, String>,
    processes: BTreeMap<String, String>,
}

/// One table of names and patterns.
#[derive(Debug, Clone, Default)]
struct Table {
    exact: BTreeMap<String, String>,
    patterns: Vec<(String, String)>,
}

impl Table {
    fn add(&mut self, name: &str, product: &str, front: bool) {
        if name.contains(['*', '?']) {
            let e = (name.to_string(), product.to_string());
            if front {
                self.patterns.insert(0, e);
            } else {
                self.patterns.push(e);
            }
        } else {
            self.exact.insert(name.to_string(), product.to_string());
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        if let Some(p) = self.exact.get(name) {
            return Some(p);
        }
        self.patterns
            .iter()
            .find(|(pat, _)| glob(pat.as_bytes(), name.as_bytes()))
            .map(|(_, p)| p.as_str())
    }
}

/// `*` matches any run, `?` one byte.
fn glob(pat: &[u8], s: &[u8]) -> bool {
    match pat.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Maps package and process names to products of the signatures' vocabulary.
#[derive(Debug, Clone)]
pub struct PackageMap {
    packages: Table,
    processes: Table,
}

impl Default for PackageMap {
    fn default() -> Self {
        let mut m = PackageMap {
            packages: Table::default(),
            processes: Table::default(),
        };
        m.extend_from_toml(DEFAULT_MAP)
            .expect("the shipped package map is valid");
        m
    }
}

impl PackageMap {
    /// Adds the entries of a map file (same format as `data/packages.toml`); they take
    /// precedence over the entries already there.
    pub fn extend_from_toml(&mut self, text: &str) -> Result<(), String> {
        let f: MapFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (k, v) in f.packages.iter().rev() {
            self.packages.add(k, v, true);
        }
        for (k, v) in f.processes.iter().rev() {
            self.processes.add(k, v, true);
        }
        Ok(())
    }

    /// The product a package (binary, source or upstream name) is, if known.
    pub fn product_for_package(&self, name: &str) -> Option<&str> {
        self.packages.get(name)
    }

    /// The product a process name (`comm`) is, if known.
    pub fn product_for_process(&self, comm: &str) -> Option<&str> {
        self.processes.get(comm)
    }

    /// Every product the map can yield (for validation against the vocabulary).
    pub fn products(&self) -> impl Iterator<Item = &str> {
        let p = &self.packages;
        let q = &self.processes;
        p.exact
            .values()
            .chain(p.patterns.iter().map(|(_, v)| v))
            .chain(q.exact.values())
            .chain(q.patterns.iter().map(|(_, v)| v))
            .map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_patterns() {
        let mut m = PackageMap::default();
        assert_eq!(m.product_for_package("apache2"), Some("apache-httpd"));
        assert_eq!(m.product_for_package("nginx-light"), Some("nginx"));
        assert_eq!(m.product_for_package("php8.2-fpm"), Some("php"));
        assert_eq!(m.product_for_package("php8.2"), Some("php"));
        assert_eq!(m.product_for_package("phpmyadmin"), Some("phpmyadmin"));
        assert_eq!(m.product_for_package("php8.2-mysql"), None);
        assert_eq!(m.product_for_package("tomcat10"), Some("apache-tomcat"));
        assert_eq!(m.product_for_process("php-fpm8.2"), Some("php"));
        assert_eq!(m.product_for_process("sshd"), Some("openssh"));
        m.extend_from_toml("[packages]\n\"nginx-*\" = \"apache-httpd\"\nmyblog = \"wordpress\"\n")
            .unwrap();
        assert_eq!(m.product_for_package("nginx-light"), Some("apache-httpd"));
        assert_eq!(m.product_for_package("myblog"), Some("wordpress"));
        assert!(m.extend_from_toml("[pkgs]\n").is_err());
    }

    #[test]
    fn shipped_map_uses_the_vocabulary() {
        let v = scantriage_detect::Vocabulary::default();
        for p in PackageMap::default().products() {
            assert!(v.canonical(p).is_some(), "unknown product {p}");
        }
    }
}
