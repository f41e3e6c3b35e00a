use crate::*;
use scantriage_core::{Category, DecisionKind, HttpRequest, Severity, Timestamp, Verdict};
use scantriage_detect::{example_request, parse_rule_file, Example, RuleSet, Scratch, Vocabulary};

fn rule(id: &str, targets: &str, category: &str, path: &str) -> String {
    format!(
        "[[rule]]\nid = \"{id}\"\nname = \"{id}\"\ntargets = [{targets}]\ncategory = \"{category}\"\nseverity = \"high\"\nuri = {{ contains = [\"{path}\"] }}\n[[rule.examples.match]]\nrequest = \"GET {path}\"\n[[rule.examples.no_match]]\nrequest = \"GET /\"\n"
    )
}

fn rules() -> RuleSet {
    let text = [
        rule("wp-login", "\"wordpress\"", "recon", "/wp-login.php"),
        rule("wp-brute", "\"wordpress\"", "bruteforce", "/xmlrpc.php"),
        rule("pma", "\"phpmyadmin\"", "recon", "/phpmyadmin"),
        rule("env", "\"generic\"", "secret", "/.env"),
        rule("trav", "\"generic\"", "exploit", "../"),
        rule("apache-trav", "\"apache-httpd\"", "exploit", "/cgi-bin/../"),
        rule("wpfm", "\"wordpress\"", "exploit", "connector.minimal.php"),
        rule("zgrab", "\"generic\"", "scanner", "zgrab"),
        rule("gbot", "\"generic\"", "crawler", "googlebot"),
    ]
    .concat();
    let (sigs, errs) = parse_rule_file("t.toml", &text, &Vocabulary::default());
    assert!(errs.is_empty(), "{errs:?}");
    RuleSet::new(sigs)
}

fn inventory(dynamic: bool, products: &[&str]) -> Inventory {
    let mut inv = Inventory::new(dynamic);
    for p in products {
        inv.add(&Vocabulary::default(), p, None).unwrap();
    }
    inv
}

fn verdict(rs: &RuleSet, inv: &Inventory, request: &str, status: u16) -> (Verdict, Vec<String>) {
    let ex = Example {
        request: request.into(),
        user_agent: String::new(),
        referer: String::new(),
        status,
    };
    let req: HttpRequest<'_> = example_request(&ex);
    let mut s = Scratch::default();
    let mut m = Vec::new();
    rs.matches_into(&req, &mut s, &mut m);
    let a = Assessor::new(rs, inv).assess(
        &req,
        &mut m,
        scantriage_detect::heuristics::suspicion(&req, &s),
    );
    (a.verdict, m.iter().map(|&i| rs.get(i).id.clone()).collect())
}

#[test]
fn verdict_follows_inventory_and_answer() {
    let rs = rules();
    let wp = inventory(true, &["wp", "nginx", "php"]);
    let v = |r: &str, s: u16| verdict(&rs, &wp, r, s).0;
    assert_eq!(v("GET /wp-login.php HTTP/1.1", 200), Verdict::Relevant);
    assert_eq!(v("GET /wp-login.php HTTP/1.1", 404), Verdict::Noise);
    assert_eq!(v("GET /phpmyadmin/ HTTP/1.1", 404), Verdict::Noise);
    assert_eq!(v("GET /phpmyadmin/ HTTP/1.1", 200), Verdict::Unknown);
    assert_eq!(v("GET /.env HTTP/1.1", 404), Verdict::Noise);
    assert_eq!(v("GET /.env HTTP/1.1", 200), Verdict::Urgent);
    assert_eq!(
        v("GET /?f=../../etc/passwd HTTP/1.1", 404),
        Verdict::Relevant
    );
    assert_eq!(
        v(
            "GET /wp-content/plugins/x/connector.minimal.php HTTP/1.1",
            200
        ),
        Verdict::Urgent
    );
    assert_eq!(v("POST /xmlrpc.php HTTP/1.1", 200), Verdict::Relevant);
    // The front page answers any query string: its 200 proves nothing.
    assert_eq!(
        v("GET /?x=connector.minimal.php HTTP/1.1", 200),
        Verdict::Relevant
    );
    assert_eq!(
        v("GET /index.php?x=connector.minimal.php HTTP/1.1", 200),
        Verdict::Relevant
    );
    assert_eq!(v("GET /about/ HTTP/1.1", 200), Verdict::Benign);
    assert_eq!(v("GET /a%2500b HTTP/1.1", 200), Verdict::Unknown);
}

#[test]
fn specific_signature_decides_over_generic() {
    let rs = rules();
    let wp = inventory(true, &["wordpress"]);
    let (v, ids) = verdict(&rs, &wp, "GET /cgi-bin/../../bin/sh HTTP/1.1", 400);
    assert_eq!(v, Verdict::Noise);
    assert_eq!(ids, vec!["apache-trav"]);
    let apache = inventory(true, &["apache"]);
    assert_eq!(
        verdict(&rs, &apache, "GET /cgi-bin/../../bin/sh HTTP/1.1", 400).0,
        Verdict::Relevant
    );
}

#[test]
fn static_site_and_absent_products() {
    let rs = rules();
    let stat = inventory(false, &["nginx"]);
    assert_eq!(
        verdict(&rs, &stat, "GET /?f=../../etc/passwd HTTP/1.1", 200).0,
        Verdict::Noise
    );
    assert_eq!(
        verdict(&rs, &stat, "GET /wp-login.php HTTP/1.1", 200).0,
        Verdict::Unknown
    );
    assert_eq!(
        verdict(&rs, &stat, "POST /xmlrpc.php HTTP/1.1", 200).0,
        Verdict::Noise
    );
}

fn observe(p: &mut Profile, cfg: &PolicyConfig, t: i64, v: Verdict, c: Category) {
    observe_with(p, cfg, t, v, c, false)
}

fn observe_with(
    p: &mut Profile,
    cfg: &PolicyConfig,
    t: i64,
    v: Verdict,
    c: Category,
    scripted: bool,
) {
    let o = Observation {
        time: Timestamp::from_unix_secs(t),
        verdict: v,
        category: c,
        severity: Severity::High,
        sigs: &[0],
        scripted,
        why: None,
    };
    p.observe(&o, cfg, || Evidence {
        input: 0,
        line: t as u64,
        time: Timestamp::from_unix_secs(t),
        request: "POST /xmlrpc.php".into(),
        status: 200,
    });
}

#[test]
fn policy_blocks_brute_force_fast_and_slow_but_not_a_few_logins() {
    let rs = rules();
    let cfg = PolicyConfig::default();
    let pol = Policy::new(cfg.clone());
    let ip = "198.51.100.1".parse().unwrap();
    let inputs = vec!["access.log".to_string()];
    // A person signing in through the form (it sends a Referer), mistyping twice: no
    // concern. One scripted POST (a pingback, an app signing in once): none either.
    // Two scripted ones are worth a look.
    let mut few = Profile::new(Timestamp::from_unix_secs(0));
    let mut one_scripted = Profile::new(Timestamp::from_unix_secs(0));
    let mut two_scripted = Profile::new(Timestamp::from_unix_secs(0));
    for t in 0..3 {
        observe(
            &mut few,
            &cfg,
            t * 60,
            Verdict::Relevant,
            Category::Bruteforce,
        );
    }
    assert_eq!(
        pol.decide(ip, &few, &rs, &inputs, 0).kind,
        DecisionKind::Ignore
    );
    for t in 0..2 {
        let p = if t == 0 {
            &mut one_scripted
        } else {
            &mut two_scripted
        };
        observe_with(p, &cfg, 0, Verdict::Relevant, Category::Bruteforce, true);
    }
    observe_with(
        &mut two_scripted,
        &cfg,
        3600,
        Verdict::Relevant,
        Category::Bruteforce,
        true,
    );
    assert_eq!(
        pol.decide(ip, &one_scripted, &rs, &inputs, 0).kind,
        DecisionKind::Ignore
    );
    let o = pol.decide(ip, &two_scripted, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Watch, "{:?}", o.reasons);
    assert!(
        o.reasons[0].contains("below the brute-force"),
        "{:?}",
        o.reasons
    );
    // One or two attempts are a person logging in or mistyping: not even watched.
    let mut two = Profile::new(Timestamp::from_unix_secs(0));
    for t in 0..2 {
        observe(
            &mut two,
            &cfg,
            t * 60,
            Verdict::Relevant,
            Category::Bruteforce,
        );
    }
    assert_eq!(
        pol.decide(ip, &two, &rs, &inputs, 0).kind,
        DecisionKind::Ignore
    );
    let mut fast = Profile::new(Timestamp::from_unix_secs(0));
    for t in 0..12 {
        observe(
            &mut fast,
            &cfg,
            t * 5,
            Verdict::Relevant,
            Category::Bruteforce,
        );
    }
    let o = pol.decide(ip, &fast, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Block);
    assert!(o.reasons[0].contains("access.log:"), "{:?}", o.reasons);
    let mut slow = Profile::new(Timestamp::from_unix_secs(0));
    for t in 0..25 {
        observe(
            &mut slow,
            &cfg,
            t * 1800,
            Verdict::Relevant,
            Category::Bruteforce,
        );
    }
    assert_eq!(slow.login.peak_fast, 1);
    assert_eq!(
        pol.decide(ip, &slow, &rs, &inputs, 0).kind,
        DecisionKind::Block
    );
    let o = pol.decide(ip, &slow, &rs, &inputs, 2);
    assert_eq!(o.duration_secs, cfg.block_bruteforce_secs * 4);
    // A handful of scripted attempts (no Referer) over days is guessing; the same
    // number from a login form is a person who forgot a password.
    let mut scripted = Profile::new(Timestamp::from_unix_secs(0));
    let mut person = Profile::new(Timestamp::from_unix_secs(0));
    for t in 0..6 {
        observe_with(
            &mut scripted,
            &cfg,
            t * 12 * 3600,
            Verdict::Relevant,
            Category::Bruteforce,
            true,
        );
        observe_with(
            &mut person,
            &cfg,
            t * 12 * 3600,
            Verdict::Relevant,
            Category::Bruteforce,
            false,
        );
    }
    assert_eq!(
        pol.decide(ip, &scripted, &rs, &inputs, 0).kind,
        DecisionKind::Block
    );
    assert_eq!(
        pol.decide(ip, &person, &rs, &inputs, 0).kind,
        DecisionKind::Watch
    );
}

#[test]
fn policy_levels_and_allowlist() {
    let rs = rules();
    let cfg = PolicyConfig {
        allowlist: vec!["198.51.100.0/24".parse().unwrap()],
        ..Default::default()
    };
    let pol = Policy::new(cfg.clone());
    let inputs = vec!["a".to_string()];
    let outside = "203.0.113.5".parse().unwrap();
    let inside = "198.51.100.7".parse().unwrap();
    let mut p = Profile::new(Timestamp::default());
    observe(&mut p, &cfg, 1, Verdict::Noise, Category::Exploit);
    assert_eq!(
        pol.decide(outside, &p, &rs, &inputs, 0).kind,
        DecisionKind::Ignore
    );
    observe(&mut p, &cfg, 2, Verdict::Relevant, Category::Recon);
    assert_eq!(
        pol.decide(outside, &p, &rs, &inputs, 0).kind,
        DecisionKind::Watch
    );
    observe(&mut p, &cfg, 3, Verdict::Relevant, Category::Recon);
    assert_eq!(
        pol.decide(outside, &p, &rs, &inputs, 0).kind,
        DecisionKind::Block
    );
    observe(&mut p, &cfg, 4, Verdict::Urgent, Category::Secret);
    let o = pol.decide(outside, &p, &rs, &inputs, 0);
    assert_eq!(
        (o.kind, o.duration_secs),
        (DecisionKind::Block, cfg.block_urgent_secs)
    );
    assert_eq!(
        pol.decide(inside, &p, &rs, &inputs, 0).kind,
        DecisionKind::Ignore
    );
}

proptest::proptest! {
    /// A bigger threat never gets a milder decision: adding any finding to a profile
    /// never lowers the decision.
    #[test]
    fn more_findings_never_milder(seq in proptest::collection::vec((0usize..5, 0usize..6), 0..40), extra in (0usize..5, 0usize..6)) {
        let rs = rules();
        let cfg = PolicyConfig::default();
        let pol = Policy::new(cfg.clone());
        let ip = "203.0.113.9".parse().unwrap();
        let inputs = vec!["a".to_string()];
        let mut p = Profile::new(Timestamp::default());
        for (i, (v, c)) in seq.iter().enumerate() {
            observe(&mut p, &cfg, i as i64, Verdict::ALL[*v], Category::ALL[*c]);
        }
        let before = pol.decide(ip, &p, &rs, &inputs, 0);
        observe(&mut p, &cfg, seq.len() as i64, Verdict::ALL[extra.0], Category::ALL[extra.1]);
        let after = pol.decide(ip, &p, &rs, &inputs, 0);
        proptest::prop_assert!(after.kind >= before.kind);
        if after.kind == before.kind {
            proptest::prop_assert!(after.duration_secs >= before.duration_secs);
        }
    }
}

#[test]
fn a_product_recon_rule_does_not_hide_a_generic_exploit() {
    let rs = rules();
    let wp = inventory(true, &["wordpress"]);
    // phpMyAdmin is absent, but the SQL injection in the same request is generic.
    let (v, ids) = verdict(
        &rs,
        &wp,
        "GET /phpmyadmin/?f=../../etc/passwd HTTP/1.1",
        404,
    );
    assert_eq!(v, Verdict::Relevant);
    assert_eq!(ids, vec!["pma", "trav"]);
}

#[test]
fn informational_glances_watch_but_never_block() {
    let rs = rules();
    let cfg = PolicyConfig::default();
    let pol = Policy::new(cfg.clone());
    let ip = "203.0.113.20".parse().unwrap();
    let inputs = vec!["a".to_string()];
    let mut p = Profile::new(Timestamp::default());
    for t in 0..5 {
        let o = Observation {
            time: Timestamp::from_unix_secs(t),
            verdict: Verdict::Relevant,
            category: Category::Recon,
            severity: Severity::Info,
            sigs: &[0],
            scripted: false,
            why: None,
        };
        p.observe(&o, &cfg, || Evidence {
            input: 0,
            line: 1,
            time: Timestamp::default(),
            request: "GET /wp-login.php".into(),
            status: 200,
        });
    }
    let o = pol.decide(ip, &p, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Watch, "{:?}", o.reasons);
    assert!(o.reasons[0].contains("public pages"), "{:?}", o.reasons);
    // The site's own admin: the login page among ordinary browsing is no concern.
    for t in 0..10 {
        observe(&mut p, &cfg, 100 + t, Verdict::Benign, Category::Recon);
    }
    let o = pol.decide(ip, &p, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Ignore, "{:?}", o.reasons);
    assert!(
        o.reasons[0].contains("browsing normally"),
        "{:?}",
        o.reasons
    );
}

#[test]
fn policy_blocks_port_scans_and_ssh_brute_force_with_checkable_reasons() {
    use scantriage_core::{ScanSummary, ScanTechnique, SshSummary};
    let rs = rules();
    let cfg = PolicyConfig::default();
    let pol = Policy::new(cfg.clone());
    let ip = "203.0.113.7".parse().unwrap();
    let inputs = vec!["scan.pcap".to_string(), "auth.log".to_string()];
    let t = Timestamp::from_unix_secs(1_762_124_401);
    let mut p = Profile::new(t);
    p.observe_network(t, 0, 3);
    p.scan = Some(ScanSummary {
        kind: "vertical",
        technique: ScanTechnique::Syn,
        techniques: vec![ScanTechnique::Syn],
        method: "trw",
        ports: vec![20, 21, 22, 23],
        port_count: 4,
        hosts: vec!["192.0.2.1".parse().unwrap()],
        host_count: 1,
        probes: 4,
        probes_before_detection: 4,
        open: 1,
        first_seen: t,
        detected_at: t,
        last_seen: t,
        duration_secs: 0,
    });
    let o = pol.decide(ip, &p, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Block);
    assert_eq!(o.duration_secs, cfg.block_portscan_secs);
    let r = &o.reasons[0];
    assert!(r.starts_with("port scan (vertical syn"), "{r}");
    assert!(
        r.contains("[20,21,22,23]") && r.contains("TRW") && r.contains("scan.pcap:3"),
        "{r}"
    );

    let mut q = Profile::new(t);
    q.observe_network(t, 1, 7);
    let mut ssh = SshSummary {
        failures: 3,
        recon: 2,
        first_seen: t,
        last_seen: t,
        ..SshSummary::default()
    };
    q.ssh = Some(ssh.clone());
    let o = pol.decide(ip, &q, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Watch, "{o:?}");
    ssh.brute_force = Some("12 failed logins".into());
    ssh.accepted = 1;
    ssh.accepted_users = vec!["root".into()];
    q.ssh = Some(ssh);
    let o = pol.decide(ip, &q, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Block);
    assert!(o.reasons[0].contains("SSH brute force: 12 failed logins"));
    assert!(o.reasons[0].contains("LOGGED IN as root") && o.reasons[0].contains("auth.log:7"));
    // Allowlisted sources are never blocked, whatever they did.
    let allow = Policy::new(PolicyConfig {
        allowlist: vec!["203.0.113.0/24".parse().unwrap()],
        ..PolicyConfig::default()
    });
    assert_eq!(
        allow.decide(ip, &p, &rs, &inputs, 0).kind,
        DecisionKind::Ignore
    );
}

#[test]
fn informational_looks_with_a_referer_or_from_a_crawler_are_ordinary() {
    let text = "[[rule]]\nid = \"rc\"\nname = \"rc\"\ntargets = [\"roundcube\"]\ncategory = \"recon\"\nseverity = \"info\"\nuri = { contains = [\"/roundcube\"] }\n[[rule.examples.match]]\nrequest = \"GET /roundcube/\"\n[[rule.examples.no_match]]\nrequest = \"GET /\"\n"
        .to_string()
        + &rule("trav", "\"generic\"", "exploit", "../")
        + "[[rule]]\nid = \"mon\"\nname = \"mon\"\ntargets = [\"generic\"]\ncategory = \"crawler\"\nseverity = \"info\"\nuser_agent = { contains = [\"uptimerobot\"] }\n[[rule.examples.match]]\nrequest = \"GET /\"\nuser_agent = \"UptimeRobot/2.0\"\n[[rule.examples.no_match]]\nrequest = \"GET /\"\n";
    let (sigs, errs) = parse_rule_file("t.toml", &text, &Vocabulary::default());
    assert!(errs.is_empty(), "{errs:?}");
    let rs = RuleSet::new(sigs);
    let inv = inventory(true, &["roundcube"]);
    let assess = |request: &str, user_agent: &str, referer: &str| {
        let ex = Example {
            request: request.into(),
            user_agent: user_agent.into(),
            referer: referer.into(),
            status: 200,
        };
        let req: HttpRequest<'_> = example_request(&ex);
        let mut s = Scratch::default();
        let mut m = Vec::new();
        rs.matches_into(&req, &mut s, &mut m);
        Assessor::new(&rs, &inv).assess(&req, &mut m, None).verdict
    };
    let inside = "https://mail.example.org/roundcube/?_task=mail";
    // A scanner's look (no Referer, no crawler) stays a finding.
    assert_eq!(assess("GET /roundcube/", "", ""), Verdict::Relevant);
    // A user following a link inside the application, and a monitor.
    assert_eq!(
        assess("GET /roundcube/?_task=addressbook", "", inside),
        Verdict::Benign
    );
    assert_eq!(
        assess("GET /roundcube/", "UptimeRobot/2.0", ""),
        Verdict::Benign
    );
    // A Referer or a crawler User-Agent never hides an exploit payload, nor what a
    // heuristic found.
    assert_eq!(
        assess(
            "GET /roundcube/?f=../../etc/passwd",
            "UptimeRobot/2.0",
            inside
        ),
        Verdict::Relevant
    );
    let ex = Example {
        request: "GET /roundcube/?_task=mail HTTP/1.1".into(),
        user_agent: String::new(),
        referer: inside.into(),
        status: 200,
    };
    let req: HttpRequest<'_> = example_request(&ex);
    let mut m = Vec::new();
    rs.matches_into(&req, &mut Scratch::default(), &mut m);
    let a = Assessor::new(&rs, &inv).assess(&req, &mut m, Some("suspicious"));
    assert_eq!(a.verdict, Verdict::Unknown);
}

#[test]
fn files_a_store_or_forge_serves_by_name_are_content() {
    let rs = rules();
    let inv = inventory(true, &["wordpress"]);
    // A synced project's .env fetched by its owner, a repository's file in a forge.
    for r in [
        "GET /remote.php/dav/files/alice/projects/shop/.env HTTP/1.1",
        "PUT /remote.php/dav/files/alice/My%20Projects/.env HTTP/1.1",
        "GET /team/website/src/branch/main/.env HTTP/1.1",
        "GET /team/website/-/raw/main/.env HTTP/1.1",
    ] {
        assert_eq!(verdict(&rs, &inv, r, 200).0, Verdict::Benign, "{r}");
    }
    // The server's own file, reached by climbing out of the store, is still a leak.
    assert_eq!(
        verdict(
            &rs,
            &inv,
            "GET /remote.php/dav/files/../../../.env HTTP/1.1",
            200
        )
        .0,
        Verdict::Urgent
    );
    assert_eq!(
        verdict(&rs, &inv, "GET /.env HTTP/1.1", 200).0,
        Verdict::Urgent
    );
    // A payload still counts inside a store.
    assert_eq!(
        verdict(
            &rs,
            &inv,
            "GET /remote.php/dav/files/alice/.env?f=../../etc/passwd HTTP/1.1",
            200
        )
        .0,
        Verdict::Relevant
    );
}

#[test]
fn policy_blocks_mail_and_ftp_brute_force_per_service() {
    use scantriage_core::{AuthService, LoginSummary, SshSummary};
    let rs = rules();
    let cfg = PolicyConfig::default();
    let pol = Policy::new(cfg.clone());
    let ip = "203.0.113.5".parse().unwrap();
    let inputs = vec!["mail.log".to_string()];
    let t = Timestamp::from_unix_secs(1_764_064_801);
    let mut p = Profile::new(t);
    p.observe_network(t, 0, 4);
    let below = SshSummary {
        failures: 2,
        distinct_users: 1,
        users: vec!["alice".into()],
        first_seen: t,
        last_seen: t,
        ..SshSummary::default()
    };
    p.auth = vec![LoginSummary {
        service: AuthService::Imap,
        summary: below.clone(),
    }];
    let o = pol.decide(ip, &p, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Watch, "{o:?}");
    assert!(
        o.reasons[0].starts_with("IMAP/POP3: 2 failed login(s)"),
        "{o:?}"
    );
    let brute = SshSummary {
        failures: 14,
        distinct_users: 6,
        users: vec!["admin".into(), "info".into()],
        brute_force: Some("14 failed logins (decaying over 3600s; threshold 10)".into()),
        detected_at: Some(t),
        events_before_detection: Some(10),
        accepted: 1,
        accepted_users: vec!["info".into()],
        ..below.clone()
    };
    p.auth.push(LoginSummary {
        service: AuthService::Smtp,
        summary: brute,
    });
    let o = pol.decide(ip, &p, &rs, &inputs, 0);
    assert_eq!(o.kind, DecisionKind::Block);
    assert_eq!(o.duration_secs, cfg.block_bruteforce_secs);
    let r = o
        .reasons
        .iter()
        .find(|r| r.starts_with("SMTP AUTH brute force: 14 failed logins"))
        .unwrap_or_else(|| panic!("{o:?}"));
    assert!(
        r.contains("after 10 message(s)")
            && r.contains("LOGGED IN as info")
            && r.contains("mail.log:4"),
        "{r}"
    );
    // The service below its thresholds is still named.
    assert!(
        o.reasons.iter().any(|r| r.starts_with("IMAP/POP3: ")),
        "{o:?}"
    );
}
