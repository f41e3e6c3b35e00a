use super::*;
use scantriage_core::HttpRequest;

const PACK: &str = r#"
[[rule]]
id = "wp-login-post"
name = "WordPress login attempt"
targets = ["wp"]
category = "bruteforce"
severity = "medium"
method = ["POST"]
path = { suffix = ["/wp-login.php"] }
[[rule.examples.match]]
request = "POST /wp-login.php HTTP/1.1"
[[rule.examples.no_match]]
request = "GET /wp-login.php HTTP/1.1"

[[rule]]
id = "traversal"
name = "Path traversal"
targets = ["generic"]
category = "exploit"
severity = "high"
uri = { contains = ["../"], regex = '(\.\./){2,}' }
[[rule.examples.match]]
request = "GET /a/%2e%2e/%2e%2e/etc/passwd HTTP/1.1"
[[rule.examples.no_match]]
request = "GET /a/../b HTTP/1.1"

[[rule]]
id = "citrix-smb"
name = "Citrix smb.conf"
targets = ["citrix"]
cves = ["CVE-2019-19781"]
category = "exploit"
severity = "high"
path = { equals = ["/vpns/cfg/smb.conf"] }
[[rule.examples.match]]
request = "GET /vpn/../vpns/cfg/smb.conf HTTP/1.1"
[[rule.examples.no_match]]
request = "GET /vpns/cfg/smb.conf.txt HTTP/1.1"

[[rule]]
id = "jndi"
name = "Log4Shell"
targets = ["generic"]
category = "exploit"
severity = "critical"
any = { contains = ["${jndi:"] }
[[rule.examples.match]]
request = "GET / HTTP/1.1"
user_agent = "${JNDI:ldap://x/a}"
[[rule.examples.no_match]]
request = "GET / HTTP/1.1"
user_agent = "Mozilla/5.0"
"#;

fn set() -> RuleSet {
    let (sigs, errs) = parse_rule_file("t.toml", PACK, &Vocabulary::default());
    assert!(errs.is_empty(), "{errs:?}");
    RuleSet::new(sigs)
}

fn ids(rs: &RuleSet, req: &HttpRequest<'_>) -> Vec<String> {
    let mut out = Vec::new();
    rs.matches_into(req, &mut Scratch::default(), &mut out);
    out.iter().map(|&i| rs.get(i).id.clone()).collect()
}

#[test]
fn examples_pass_and_targets_are_canonical() {
    let rs = set();
    assert_eq!(rs.test_examples(), Vec::<String>::new());
    assert_eq!(rs.signatures()[0].targets, vec!["wordpress"]);
    assert!(rs.signatures()[1].is_generic());
}

#[test]
fn double_encoded_traversal_and_normalised_path() {
    let rs = set();
    let ex = Example {
        request: "GET /cgi-bin/%252e%252e/%252e%252e/bin/sh HTTP/1.1".into(),
        user_agent: String::new(),
        referer: String::new(),
        status: 400,
    };
    assert_eq!(ids(&rs, &example_request(&ex)), vec!["traversal"]);
    let ex = Example {
        request: "GET /VPN/%2E%2E/vpns/cfg//smb.conf HTTP/1.1".into(),
        ..ex
    };
    assert_eq!(ids(&rs, &example_request(&ex)), vec!["citrix-smb"]);
}

#[test]
fn bad_rules_are_reported_with_file_and_line_and_others_load() {
    let text = format!(
        "{PACK}\n[[rule]]\nid = \"bad\"\nname = \"x\"\ntargets = [\"nosuch\"]\ncategory = \"recon\"\nseverity = \"low\"\npath = {{ contains = [\"/x\"] }}\n"
    );
    let (sigs, errs) = parse_rule_file("t.toml", &text, &Vocabulary::default());
    assert_eq!(sigs.len(), 4);
    assert_eq!(errs.len(), 1);
    let e = &errs[0];
    assert_eq!(e.id.as_deref(), Some("bad"));
    assert!(e.message.contains("unknown target `nosuch`"), "{e}");
    assert_eq!(text.lines().nth(e.line - 1).unwrap(), "[[rule]]");
    let (_, errs) = parse_rule_file("t.toml", "[[rule]\nid=", &Vocabulary::default());
    assert_eq!(errs[0].line, 1);
}

#[test]
fn regex_only_rule_is_rejected() {
    let text = "[[rule]]\nid = \"r\"\nname = \"x\"\ntargets = [\"generic\"]\ncategory = \"recon\"\nseverity = \"low\"\npath = { regex = \"a+\" }\n[[rule.examples.match]]\nrequest = \"GET /a\"\n[[rule.examples.no_match]]\nrequest = \"GET /b\"\n";
    let (_, errs) = parse_rule_file("t.toml", text, &Vocabulary::default());
    assert!(errs[0].message.contains("no literal"), "{}", errs[0]);
}

#[test]
fn later_rule_with_same_id_replaces_earlier() {
    let (mut a, _) = parse_rule_file("a.toml", PACK, &Vocabulary::default());
    let (b, _) = parse_rule_file("b.toml", PACK, &Vocabulary::default());
    a.extend(b);
    let rs = RuleSet::new(a);
    assert_eq!(rs.len(), 4);
    assert!(rs.get(0).origin.starts_with("b.toml"));
}

#[test]
fn embedded_pack_loads_and_its_examples_pass() {
    let (rs, errs) = RuleSet::load(&[], &Vocabulary::default());
    assert!(errs.is_empty(), "rule errors: {errs:#?}");
    let failures = rs.test_examples();
    assert!(
        failures.is_empty(),
        "failing examples:\n{}",
        failures.join("\n")
    );
}

proptest::proptest! {
    #[test]
    fn matching_never_panics(target in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
                             ua in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
        let rs = set();
        let ex = Example { request: String::new(), user_agent: String::new(), referer: String::new(), status: 200 };
        let mut req = example_request(&ex);
        req.method = std::borrow::Cow::Borrowed(b"GET");
        req.target = std::borrow::Cow::Owned(target);
        req.user_agent = std::borrow::Cow::Owned(ua);
        let mut s = Scratch::default();
        let mut out = Vec::new();
        rs.matches_into(&req, &mut s, &mut out);
        let _ = heuristics::suspicion(&req, &s);
    }
}

#[test]
fn proxy_form_targets_match_on_their_path() {
    let rs = set();
    let ex = Example {
        request: "GET http://victim.example/vpns/cfg/smb.conf HTTP/1.1".into(),
        user_agent: String::new(),
        referer: String::new(),
        status: 404,
    };
    assert_eq!(ids(&rs, &example_request(&ex)), vec!["citrix-smb"]);
}

#[test]
fn log_escaped_backslashes_and_quotes_match_like_the_bytes_they_stand_for() {
    let (rs, errs) = RuleSet::load(&[], &Vocabulary::default());
    assert!(errs.is_empty(), "rule errors: {errs:#?}");
    // nginx logs a backslash as \x5C and a quote as \x22; Apache as \\ and \".
    for (logged, want) in [
        (
            r"GET /index.php?s=index/think\x5Crequest/input&filter[]=system&data=pwd HTTP/1.1",
            "thinkphp-request-filter-rce",
        ),
        (
            r"GET /index.php?s=index/think\\request/input&filter[]=system&data=pwd HTTP/1.1",
            "thinkphp-request-filter-rce",
        ),
        (
            r"GET /search?q=x\x22onmouseover=\x22alert(1) HTTP/1.1",
            "xss-event-handler",
        ),
        (
            r#"GET /search?q=x\"onmouseover=\"alert(1) HTTP/1.1"#,
            "xss-event-handler",
        ),
    ] {
        let ex = Example {
            request: logged.into(),
            user_agent: String::new(),
            referer: String::new(),
            status: 404,
        };
        let got = ids(&rs, &example_request(&ex));
        assert!(got.iter().any(|i| i == want), "{logged}: {got:?}");
    }
}

#[test]
fn only_a_path_encoded_twice_is_suspicious() {
    let rs = set();
    let suspicion = |request: &str| {
        let ex = Example {
            request: request.into(),
            user_agent: String::new(),
            referer: String::new(),
            status: 200,
        };
        let req = example_request(&ex);
        let mut s = Scratch::default();
        let mut out = Vec::new();
        rs.matches_into(&req, &mut s, &mut out);
        crate::heuristics::suspicion(&req, &s)
    };
    // A return address holding a URL whose own query is encoded: ordinary single sign-on.
    assert_eq!(
        suspicion("GET /login?next=%2Fauthorize%3Fredirect_uri%3Dhttps%253A%252F%252Fapp.example.com%252Fcb HTTP/1.1"),
        None
    );
    assert_eq!(
        suspicion("GET /files/%252e%252e%252fsecret HTTP/1.1"),
        Some("request path percent-encoded more than once")
    );
}
