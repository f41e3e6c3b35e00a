//! JSON access logs: nginx `escape=json` with configurable keys, and Caddy's structured log.
//!
//! Not the hot path: lines go through `serde_json::Value` and fields come out as
//! `Cow::Owned`. nginx writes bytes above 0x7f raw, so a line that is not UTF-8 is
//! decoded lossily before JSON parsing.

use crate::combined::{parse_ip, split_request};
use crate::error::{ParseError, ParseErrorKind as K};
use crate::timefmt;
use scantriage_core::{HttpRequest, Timestamp};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Key names for nginx `escape=json` logs; each field names the JSON key to read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JsonFields {
    /// Client address (`$remote_addr`).
    pub remote_addr: String,
    /// Time (`$time_local`); if absent, `time_local`, `time_iso8601`, `time`, `timestamp`,
    /// `@timestamp` and `msec` are tried in turn.
    pub time: String,
    /// Full request line (`$request`); if absent, `method` and `uri` are used.
    pub request: String,
    /// Request method (`$request_method`).
    pub method: String,
    /// Request target (`$request_uri`).
    pub uri: String,
    /// Response status (`$status`).
    pub status: String,
    /// Body size (`$body_bytes_sent`).
    pub bytes: String,
    /// Referer (`$http_referer`).
    pub referer: String,
    /// User agent (`$http_user_agent`).
    pub user_agent: String,
    /// X-Forwarded-For (`$http_x_forwarded_for`).
    pub forwarded_for: String,
    /// HTTP authentication user (`$remote_user`).
    pub remote_user: String,
    /// Virtual host (`$host`).
    pub vhost: String,
}

impl Default for JsonFields {
    fn default() -> Self {
        JsonFields {
            remote_addr: "remote_addr".into(),
            time: "time_local".into(),
            request: "request".into(),
            method: "request_method".into(),
            uri: "request_uri".into(),
            status: "status".into(),
            bytes: "body_bytes_sent".into(),
            referer: "http_referer".into(),
            user_agent: "http_user_agent".into(),
            forwarded_for: "http_x_forwarded_for".into(),
            remote_user: "remote_user".into(),
            vhost: "host".into(),
        }
    }
}

/// Time keys tried after the configured one.
const TIME_FALLBACKS: [&str; 6] = [
    "time_local",
    "time_iso8601",
    "time",
    "timestamp",
    "@timestamp",
    "msec",
];

/// Parses a line as a JSON object.
fn object(line: &[u8]) -> Result<Map<String, Value>, ParseError> {
    let first = line.iter().position(|c| !c.is_ascii_whitespace());
    let Some(first) = first else {
        return Err(ParseError::at(K::Empty, 0));
    };
    if line[first] != b'{' {
        return Err(ParseError::at(K::BadJson, first));
    }
    let res = match std::str::from_utf8(line) {
        Ok(s) => serde_json::from_str::<Map<String, Value>>(s),
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(line)),
    };
    res.map_err(|e| ParseError {
        kind: K::BadJson,
        column: e.column().max(1),
    })
}

/// Takes a value out as bytes: strings as they are, numbers and booleans as text,
/// `null` and `-` as empty.
fn take_bytes(map: &mut Map<String, Value>, key: &str) -> Vec<u8> {
    match map.remove(key) {
        Some(Value::String(s)) if s == "-" => Vec::new(),
        Some(Value::String(s)) => s.into_bytes(),
        Some(Value::Null) | None => Vec::new(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string().into_bytes(),
        // Arrays (Caddy headers) join their string items with ", ".
        Some(Value::Array(items)) => {
            let parts: Vec<String> = items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect();
            parts.join(", ").into_bytes()
        }
        Some(v @ Value::Object(_)) => v.to_string().into_bytes(),
    }
}

/// Reads a number that may be written as a JSON number or a string; absent/`-` is 0.
fn number(v: Option<&Value>) -> Option<u64> {
    match v {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) if s.is_empty() || s == "-" => Some(0),
        Some(Value::String(s)) => s.parse().ok(),
        Some(_) => None,
    }
}

/// Reads a time value: access-log, ISO 8601, or epoch seconds (number or string).
fn time_of(v: &Value) -> Option<Timestamp> {
    match v {
        Value::String(s) => timefmt::parse_any(s.as_bytes()),
        Value::Number(n) => timefmt::from_epoch_secs(n.as_f64()?),
        _ => None,
    }
}

fn owned(v: Vec<u8>) -> Cow<'static, [u8]> {
    Cow::Owned(v)
}

/// Parses one nginx `escape=json` line.
pub(crate) fn parse_nginx(line: &[u8], f: &JsonFields) -> Result<HttpRequest<'static>, ParseError> {
    let mut m = object(line)?;
    let addr = m
        .get(&f.remote_addr)
        .ok_or(ParseError::at(K::MissingField("remote_addr"), 0))?;
    let source = addr
        .as_str()
        .and_then(|s| parse_ip(s.as_bytes()))
        .ok_or(ParseError::at(K::BadAddress, 0))?;
    let tv = std::iter::once(f.time.as_str())
        .chain(TIME_FALLBACKS)
        .find_map(|k| m.get(k))
        .ok_or(ParseError::at(K::MissingField("time"), 0))?;
    let time = time_of(tv).ok_or(ParseError::at(K::BadTimestamp, 0))?;
    let status = number(m.get(&f.status))
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(ParseError::at(K::BadStatus, 0))?;
    let bytes = number(m.get(&f.bytes)).ok_or(ParseError::at(K::BadSize, 0))?;

    let request_line = take_bytes(&mut m, &f.request);
    let (request_line, method, target, protocol) = if !request_line.is_empty() {
        let (me, t, p) = split_request(&request_line);
        let (me, t, p) = (me.to_vec(), t.to_vec(), p.to_vec());
        (request_line, me, t, p)
    } else {
        let method = take_bytes(&mut m, &f.method);
        let target = take_bytes(&mut m, &f.uri);
        let mut line = method.clone();
        if !target.is_empty() {
            line.push(b' ');
            line.extend_from_slice(&target);
        }
        let method = if split_request(&line).0.is_empty() {
            Vec::new()
        } else {
            method
        };
        (line, method, target, Vec::new())
    };

    Ok(HttpRequest {
        time,
        source,
        peer: None,
        vhost: owned(take_bytes(&mut m, &f.vhost)),
        request_line: owned(request_line),
        method: owned(method),
        target: owned(target),
        protocol: owned(protocol),
        status,
        bytes,
        referer: owned(take_bytes(&mut m, &f.referer)),
        user_agent: owned(take_bytes(&mut m, &f.user_agent)),
        forwarded_for: owned(take_bytes(&mut m, &f.forwarded_for)),
        remote_user: owned(take_bytes(&mut m, &f.remote_user)),
    })
}

/// Removes a header from Caddy's `headers` object, matching the name case-insensitively.
fn take_header(headers: &mut Map<String, Value>, name: &str) -> Vec<u8> {
    let key = headers
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned();
    match key {
        Some(k) => take_bytes(headers, &k),
        None => Vec::new(),
    }
}

/// Parses one Caddy `http.log.access` line. When Caddy recorded a `client_ip` that
/// differs from `remote_ip`, the client is the source and `remote_ip` the peer.
pub(crate) fn parse_caddy(line: &[u8]) -> Result<HttpRequest<'static>, ParseError> {
    let mut m = object(line)?;
    let time = time_of(
        m.get("ts")
            .ok_or(ParseError::at(K::MissingField("ts"), 0))?,
    )
    .ok_or(ParseError::at(K::BadTimestamp, 0))?;
    let status = number(m.get("status"))
        .and_then(|n| u16::try_from(n).ok())
        .ok_or(ParseError::at(K::BadStatus, 0))?;
    let bytes = number(m.get("size")).ok_or(ParseError::at(K::BadSize, 0))?;
    let Some(Value::Object(mut req)) = m.remove("request") else {
        return Err(ParseError::at(K::MissingField("request"), 0));
    };
    let ip = |k: &str| {
        req.get(k)
            .and_then(Value::as_str)
            .and_then(|s| parse_ip(s.as_bytes()))
    };
    let remote = ip("remote_ip");
    let client = ip("client_ip");
    let (source, peer) = match (client, remote) {
        (Some(c), Some(r)) if c != r => (c, Some(r)),
        (Some(c), _) => (c, None),
        (None, Some(r)) => (r, None),
        (None, None) if req.contains_key("remote_ip") || req.contains_key("client_ip") => {
            return Err(ParseError::at(K::BadAddress, 0))
        }
        (None, None) => return Err(ParseError::at(K::MissingField("request.remote_ip"), 0)),
    };
    let method = take_bytes(&mut req, "method");
    let target = take_bytes(&mut req, "uri");
    let protocol = take_bytes(&mut req, "proto");
    let vhost = take_bytes(&mut req, "host");
    let mut request_line = method.clone();
    for part in [&target, &protocol] {
        if !part.is_empty() {
            request_line.push(b' ');
            request_line.extend_from_slice(part);
        }
    }
    let (mut referer, mut user_agent, mut forwarded_for) = (Vec::new(), Vec::new(), Vec::new());
    let remote_user = take_bytes(&mut m, "user_id");
    if let Some(Value::Object(mut h)) = req.remove("headers") {
        referer = take_header(&mut h, "Referer");
        user_agent = take_header(&mut h, "User-Agent");
        forwarded_for = take_header(&mut h, "X-Forwarded-For");
    }
    Ok(HttpRequest {
        time,
        source,
        peer,
        vhost: owned(vhost),
        request_line: owned(request_line),
        method: owned(method),
        target: owned(target),
        protocol: owned(protocol),
        status,
        bytes,
        referer: owned(referer),
        user_agent: owned(user_agent),
        forwarded_for: owned(forwarded_for),
        remote_user: owned(remote_user),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn s(c: &[u8]) -> String {
        String::from_utf8_lossy(c).into_owned()
    }

    #[test]
    fn nginx_default_fields() {
        let line = br#"{"time_local":"03/Nov/2025:00:00:01 +0100","remote_addr":"2001:db8::5","request":"GET /phpmyadmin/ HTTP/1.1","status":"404","body_bytes_sent":"153","http_referer":"","http_user_agent":"Mozilla/5.0 \"x\"","http_x_forwarded_for":"-","host":"example.org"}"#;
        let r = parse_nginx(line, &JsonFields::default()).unwrap();
        assert_eq!(r.source, "2001:db8::5".parse::<IpAddr>().unwrap());
        assert_eq!(r.time.to_string(), "2025-11-03T00:00:01+01:00");
        assert_eq!(
            (s(&r.method), s(&r.target), s(&r.protocol)),
            ("GET".into(), "/phpmyadmin/".into(), "HTTP/1.1".into())
        );
        assert_eq!((r.status, r.bytes), (404, 153));
        assert_eq!(s(&r.user_agent), "Mozilla/5.0 \"x\"");
        assert_eq!(s(&r.vhost), "example.org");
        assert!(r.referer.is_empty() && r.forwarded_for.is_empty());
    }

    #[test]
    fn nginx_custom_fields_iso_time_and_numbers() {
        let f = JsonFields {
            remote_addr: "ip".into(),
            time: "ts".into(),
            method: "m".into(),
            uri: "u".into(),
            status: "code".into(),
            bytes: "len".into(),
            user_agent: "agent".into(),
            ..JsonFields::default()
        };
        let line = br#"{"ip":"192.0.2.3","ts":"2025-11-03T00:00:01-05:30","m":"POST","u":"/xmlrpc.php","code":200,"len":12,"agent":"WordPress"}"#;
        let r = parse_nginx(line, &f).unwrap();
        assert_eq!(r.time.to_string(), "2025-11-03T00:00:01-05:30");
        assert_eq!(s(&r.request_line), "POST /xmlrpc.php");
        assert_eq!(s(&r.method), "POST");
        assert_eq!(s(&r.target), "/xmlrpc.php");
        assert_eq!((r.status, r.bytes), (200, 12));
        assert_eq!(s(&r.user_agent), "WordPress");
        // The configured time key is absent: the fallback chain finds time_iso8601.
        let line = br#"{"ip":"192.0.2.3","time_iso8601":"2025-11-03T00:00:01+00:00","code":"-"}"#;
        let r = parse_nginx(line, &f).unwrap();
        assert_eq!(r.time.to_string(), "2025-11-03T00:00:01Z");
        assert_eq!(r.status, 0);
    }

    #[test]
    fn nginx_errors_and_non_utf8() {
        let f = JsonFields::default();
        let e = |l: &[u8]| parse_nginx(l, &f).unwrap_err().kind;
        assert_eq!(e(b"  "), K::Empty);
        assert_eq!(e(b"[1]"), K::BadJson);
        assert_eq!(e(br#"{"remote_addr":"1.2.3.4""#), K::BadJson);
        assert_eq!(
            e(br#"{"time_local":"03/Nov/2025:00:00:01 +0100"}"#),
            K::MissingField("remote_addr")
        );
        assert_eq!(e(br#"{"remote_addr":"1.2.3.4"}"#), K::MissingField("time"));
        assert_eq!(
            e(br#"{"remote_addr":"nope","time_local":"x"}"#),
            K::BadAddress
        );
        assert_eq!(
            e(br#"{"remote_addr":"1.2.3.4","time_local":"x"}"#),
            K::BadTimestamp
        );
        assert_eq!(e(br#"{"remote_addr":"1.2.3.4","time_local":"03/Nov/2025:00:00:01 +0100","status":"abc"}"#), K::BadStatus);
        let mut raw = br#"{"remote_addr":"1.2.3.4","time_local":"03/Nov/2025:00:00:01 +0100","request":"GET /"#.to_vec();
        raw.extend_from_slice(b"\xff\xfe HTTP/1.1\"}");
        let r = parse_nginx(&raw, &f).unwrap();
        assert_eq!(s(&r.target), "/\u{fffd}\u{fffd}");
    }

    #[test]
    fn json_fields_config_defaults_and_rejects_unknown_keys() {
        let f: JsonFields = serde_json::from_str(r#"{"remote_addr":"ip"}"#).unwrap();
        assert_eq!(f.remote_addr, "ip");
        assert_eq!(f.time, "time_local");
        assert!(serde_json::from_str::<JsonFields>(r#"{"remote_adr":"ip"}"#).is_err());
    }

    #[test]
    fn caddy_uses_client_ip() {
        let line = br#"{"level":"info","ts":1730592001.123,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.0.0.2","remote_port":"5555","client_ip":"203.0.113.50","proto":"HTTP/2.0","method":"GET","host":"example.org","uri":"/.git/config","headers":{"User-Agent":["Mozilla/5.0"],"Referer":["https://a/","https://b/"]}},"bytes_read":0,"duration":0.001,"size":9,"status":404}"#;
        let r = parse_caddy(line).unwrap();
        assert_eq!(r.source, "203.0.113.50".parse::<IpAddr>().unwrap());
        assert_eq!(r.peer, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(r.time.unix_ms, 1_730_592_001_123);
        assert_eq!(s(&r.request_line), "GET /.git/config HTTP/2.0");
        assert_eq!(s(&r.user_agent), "Mozilla/5.0");
        assert_eq!(s(&r.referer), "https://a/, https://b/");
        assert_eq!(s(&r.vhost), "example.org");
        assert_eq!((r.status, r.bytes), (404, 9));
        assert!(r.is_http());
    }

    #[test]
    fn caddy_without_client_ip_and_errors() {
        let line = br#"{"ts":"2025-11-03T00:00:01Z","request":{"remote_ip":"192.0.2.8","method":"GET","uri":"/"},"status":200,"size":0}"#;
        let r = parse_caddy(line).unwrap();
        assert_eq!(r.source, "192.0.2.8".parse::<IpAddr>().unwrap());
        assert_eq!(r.peer, None);
        assert!(r.user_agent.is_empty());
        let e = |l: &[u8]| parse_caddy(l).unwrap_err().kind;
        assert_eq!(e(br#"{"request":{}}"#), K::MissingField("ts"));
        assert_eq!(e(br#"{"ts":1}"#), K::MissingField("request"));
        assert_eq!(
            e(br#"{"ts":1,"request":{}}"#),
            K::MissingField("request.remote_ip")
        );
        assert_eq!(e(br#"{"ts":1,"request":{"remote_ip":"x"}}"#), K::BadAddress);
        assert_eq!(
            e(br#"{"ts":-1,"request":{"remote_ip":"1.2.3.4"}}"#),
            K::BadTimestamp
        );
        assert_eq!(
            e(br#"{"ts":1,"status":70000,"request":{"remote_ip":"1.2.3.4"}}"#),
            K::BadStatus
        );
    }
}
