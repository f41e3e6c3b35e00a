//! The nftables and ipset back ends against a real kernel, inside network namespaces
//! the tests create (and always delete). Needs root, `ip`, `nft` (and `ipset`,
//! `iptables`); skipped elsewhere, never under CI.

use ipnet::IpNet;
use scantriage_enforce::{
    Allowlist, Ban, Enforcer, Ipset, IpsetConfig, NftConfig, Nftables, Runner,
};
use scantriage_testkit::netns::Netns;
use std::time::{Duration, Instant};

fn ban(s: &str, secs: u64) -> Ban {
    let net = s
        .parse::<IpNet>()
        .unwrap_or_else(|_| IpNet::from(s.parse::<std::net::IpAddr>().unwrap()));
    Ban {
        net,
        timeout_secs: secs,
    }
}

fn expires(e: &mut dyn Enforcer, s: &str) -> Option<Option<u64>> {
    let net: IpNet = ban(s, 1).net;
    e.list()
        .unwrap()
        .into_iter()
        .find(|l| l.net == net)
        .map(|l| l.expires_in_secs)
}

/// Waits (bounded) until `s` is no longer listed.
fn wait_gone(e: &mut dyn Enforcer, s: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if expires(e, s).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

const USER_TABLE: &str = "table inet mine {\n\
    chain c {\n\
        type filter hook input priority 0; policy accept;\n\
        tcp dport 22 accept\n\
    }\n\
}\n";

#[test]
fn nftables_bans_expire_survive_a_flush_and_leave_other_tables_alone() {
    let Some(ns) = Netns::create("nft", &["nft"]) else {
        return;
    };
    ns.nft_script(USER_TABLE);
    let mine_before = ns.exec_ok("nft", &["list", "table", "inet", "mine"]);
    let cfg = NftConfig {
        runner: Runner::with_prefix(ns.prefix()),
        ..NftConfig::default()
    };
    let mut nft = Nftables::new(cfg, Allowlist::new(["192.0.2.0/24".parse().unwrap()])).unwrap();

    let out = nft
        .apply(&[
            ban("198.51.100.7", 300),
            ban("198.51.100.8", 2),
            ban("2001:db8::7", 300),
            ban("203.0.113.0/24", 300),
            ban("127.0.0.1", 300),
            ban("192.0.2.10", 300),
        ])
        .unwrap();
    assert_eq!(out.applied.len(), 4);
    assert_eq!(out.refused.len(), 2);

    // The kernel holds the elements with their timeouts.
    let text = ns.exec_ok("nft", &["list", "set", "inet", "scantriage", "banned_v4"]);
    assert!(text.contains("flags interval,timeout"), "{text}");
    assert!(text.contains("198.51.100.7 timeout 5m"), "{text}");
    assert!(text.contains("203.0.113.0/24 timeout 5m"), "{text}");
    assert!(
        !text.contains("127.0.0.1") && !text.contains("192.0.2.10"),
        "{text}"
    );
    let text6 = ns.exec_ok("nft", &["list", "set", "inet", "scantriage", "banned_v6"]);
    assert!(text6.contains("2001:db8::7 timeout 5m"), "{text6}");
    let chain = ns.exec_ok("nft", &["list", "chain", "inet", "scantriage", "input"]);
    assert!(chain.contains("hook input"), "{chain}");
    assert!(chain.contains("ip saddr @banned_v4 drop"), "{chain}");
    assert!(chain.contains("ip6 saddr @banned_v6 drop"), "{chain}");
    let left = expires(&mut nft, "198.51.100.7").unwrap().unwrap();
    assert!((290..=300).contains(&left), "{left}");

    // Applying again is idempotent; a longer ban extends, a shorter one does not shorten;
    // an address inside a banned prefix is already covered.
    nft.apply(&[
        ban("198.51.100.7", 900),
        ban("203.0.113.0/24", 10),
        ban("203.0.113.5", 60),
    ])
    .unwrap();
    assert!(expires(&mut nft, "198.51.100.7").unwrap().unwrap() > 800);
    assert!(expires(&mut nft, "203.0.113.0/24").unwrap().unwrap() > 200);
    assert!(expires(&mut nft, "203.0.113.5").is_none());
    let chain_again = ns.exec_ok("nft", &["list", "chain", "inet", "scantriage", "input"]);
    assert_eq!(chain_again.matches(" drop").count(), 2, "{chain_again}");

    // The kernel expires the short ban by itself.
    assert!(wait_gone(&mut nft, "198.51.100.8", Duration::from_secs(10)));
    assert!(expires(&mut nft, "198.51.100.7").is_some());

    // Remove one.
    nft.remove(&[
        "2001:db8::7/128".parse().unwrap(),
        "10.9.9.9/32".parse().unwrap(),
    ])
    .unwrap();
    assert!(expires(&mut nft, "2001:db8::7").is_none());

    // Someone flushes the whole ruleset: re-assert brings our table and bans back.
    ns.exec_ok("nft", &["flush", "ruleset"]);
    assert!(nft.list().unwrap().is_empty());
    let n = nft.reassert().unwrap();
    assert_eq!(n, 2);
    assert!(expires(&mut nft, "198.51.100.7").unwrap().unwrap() > 800);
    assert!(expires(&mut nft, "203.0.113.0/24").is_some());
    assert!(expires(&mut nft, "2001:db8::7").is_none());

    // Removing everything deletes our table only.
    ns.nft_script(USER_TABLE);
    nft.remove_all().unwrap();
    let (exists, _, _) = ns.exec("nft", &["list", "table", "inet", "scantriage"]);
    assert!(!exists);
    let mine_after = ns.exec_ok("nft", &["list", "table", "inet", "mine"]);
    assert_eq!(mine_before, mine_after);
    // Removing again is fine.
    nft.remove_all().unwrap();
    assert!(nft.list().unwrap().is_empty());
}

#[test]
fn ipset_bans_with_timeouts_and_clean_removal() {
    let Some(ns) = Netns::create("ipset", &["ipset", "iptables", "ip6tables"]) else {
        return;
    };
    let cfg = IpsetConfig {
        runner: Runner::with_prefix(ns.prefix()),
        ..IpsetConfig::default()
    };
    let mut ipset = Ipset::new(cfg, Allowlist::default()).unwrap();
    ipset
        .apply(&[
            ban("198.51.100.7", 300),
            ban("198.51.100.8", 1),
            ban("2001:db8::7", 300),
            ban("::1", 60),
        ])
        .unwrap();
    let left = expires(&mut ipset, "198.51.100.7").unwrap().unwrap();
    assert!((290..=300).contains(&left), "{left}");
    assert!(expires(&mut ipset, "2001:db8::7").is_some());
    assert!(expires(&mut ipset, "::1").is_none());
    let rules = ns.exec_ok("iptables", &["-S", "INPUT"]);
    assert!(
        rules.contains("--match-set scantriage4 src -j DROP"),
        "{rules}"
    );
    let rules6 = ns.exec_ok("ip6tables", &["-S", "INPUT"]);
    assert!(
        rules6.contains("--match-set scantriage6 src -j DROP"),
        "{rules6}"
    );
    // Applying again neither fails nor duplicates the rule, and extends the timeout.
    ipset.apply(&[ban("198.51.100.7", 900)]).unwrap();
    assert!(expires(&mut ipset, "198.51.100.7").unwrap().unwrap() > 800);
    let rules = ns.exec_ok("iptables", &["-S", "INPUT"]);
    assert_eq!(rules.matches("scantriage4").count(), 1, "{rules}");
    assert!(wait_gone(
        &mut ipset,
        "198.51.100.8",
        Duration::from_secs(10)
    ));
    ipset.remove_all().unwrap();
    let rules = ns.exec_ok("iptables", &["-S", "INPUT"]);
    assert!(!rules.contains("scantriage"), "{rules}");
    let (exists, _, _) = ns.exec("ipset", &["list", "scantriage4"]);
    assert!(!exists);
}

#[test]
fn nftables_refuses_a_table_of_that_name_that_is_not_ours() {
    let Some(ns) = Netns::create("foreign", &["nft"]) else {
        return;
    };
    // The user's table happens to have the name we are configured with.
    ns.nft_script(
        "table inet scantriage {\n set allowed { type ipv4_addr; elements = { 192.0.2.1 } }\n \
         chain input {\n  type filter hook input priority 0; policy accept;\n  ip saddr @allowed accept\n }\n}\n",
    );
    let before = ns.exec_ok("nft", &["list", "ruleset"]);
    let cfg = NftConfig {
        runner: Runner::with_prefix(ns.prefix()),
        ..NftConfig::default()
    };
    let mut nft = Nftables::new(cfg, Allowlist::default()).unwrap();
    let e = nft.apply(&[ban("198.51.100.7", 60)]).unwrap_err();
    assert!(e.to_string().contains("set allowed"), "{e}");
    assert!(!e.is_retryable());
    assert!(nft.remove_all().is_err());
    assert_eq!(ns.exec_ok("nft", &["list", "ruleset"]), before);
}

#[test]
fn ipset_refuses_a_set_of_that_name_that_is_not_ours() {
    let Some(ns) = Netns::create("foreignset", &["ipset", "iptables", "ip6tables"]) else {
        return;
    };
    ns.exec_ok(
        "ipset",
        &["create", "scantriage4", "hash:ip", "family", "inet"],
    );
    ns.exec_ok("ipset", &["add", "scantriage4", "192.0.2.1"]);
    let cfg = IpsetConfig {
        runner: Runner::with_prefix(ns.prefix()),
        ..IpsetConfig::default()
    };
    let mut ipset = Ipset::new(cfg, Allowlist::default()).unwrap();
    let e = ipset.apply(&[ban("198.51.100.7", 60)]).unwrap_err();
    assert!(e.to_string().contains("did not create"), "{e}");
    assert!(ipset.remove_all().is_err());
    let still = ns.exec_ok("ipset", &["list", "scantriage4"]);
    assert!(still.contains("192.0.2.1"), "{still}");
}
