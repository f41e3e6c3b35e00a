//! HTML rendering of the pages and of the self-contained report.
//!
//! Pages are built as strings; every value that is not a number or a fixed word of the
//! program goes through [`esc`] (text and quoted attributes) or [`url_component`]
//! (links). Served pages carry forms whose actions post to the JSON API with the
//! per-process anti-forgery token; the report has no forms and no script.

use crate::html::{esc, time, url_component};
use crate::model::{Bucket, DecisionView, DecisionsPage, Overview, Queue, RulesPage, SourcePage};
use crate::svg::{self, Stack, VERDICT_COLOURS};
use crate::verdicts::VerdictView;
use scantriage_core::{Finding, Verdict};
use std::fmt::Write as _;

/// How a page is rendered: served (with action forms) or as a static report.
#[derive(Debug, Clone, Copy)]
pub enum Mode<'a> {
    /// Served by `scantriage serve`: forms carry this anti-forgery token.
    Served {
        /// The per-process anti-forgery token.
        csrf: &'a str,
    },
    /// The self-contained report: no forms, no links to the server.
    Report,
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d232a;background:#fafbfc}\
header{background:#1d232a;color:#fff;padding:8px 16px}header a{color:#fff;margin-right:16px;text-decoration:none}\
header a.on{text-decoration:underline}main{padding:16px;max-width:1200px}\
table{border-collapse:collapse;margin:8px 0;width:100%}td,th{border-bottom:1px solid #dde;padding:3px 6px;text-align:left;vertical-align:top}\
code,.mono{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}\
.v-urgent{color:#c62828;font-weight:bold}.v-relevant{color:#e07000;font-weight:bold}.v-unknown{color:#9a7b00}\
.v-noise{color:#789}.cards{display:flex;gap:12px;flex-wrap:wrap}.card{background:#fff;border:1px solid #dde;padding:8px 12px;border-radius:4px}\
.card b{font-size:20px;display:block}form.inline{display:inline;margin:0 2px}button{font-size:12px}\
.src{background:#fff;border:1px solid #dde;margin:10px 0;padding:6px 10px;border-radius:4px}\
.legend span{display:inline-block;margin-right:10px}.legend i{display:inline-block;width:10px;height:10px;margin-right:3px}\
.msg{background:#fff3cd;border:1px solid #e0c060;padding:6px 10px}";

/// The Content-Security-Policy of served pages: nothing loads from anywhere else.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                       script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The Content-Security-Policy of the report (as a meta tag): no script at all.
const REPORT_CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'";

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Urgent => "v-urgent",
        Verdict::Relevant => "v-relevant",
        Verdict::Unknown => "v-unknown",
        Verdict::Noise => "v-noise",
        Verdict::Benign => "v-benign",
    }
}

/// The whole document around one page's body.
pub fn layout(title: &str, nav: &str, body: &str, mode: Mode<'_>) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let csp = match mode {
        Mode::Served { .. } => String::new(),
        Mode::Report => format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
            esc(REPORT_CSP)
        ),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">{csp}\
         <title>{} · scantriage</title><style>{STYLE}</style></head><body><header>",
        esc(title)
    );
    match mode {
        Mode::Served { .. } => {
            for (href, key, label) in [
                ("/", "overview", "Overview"),
                ("/queue", "queue", "Queue"),
                ("/decisions", "decisions", "Decisions"),
                ("/rules", "rules", "Rules"),
            ] {
                let on = if key == nav { " class=\"on\"" } else { "" };
                let _ = write!(out, "<a href=\"{href}\"{on}>{label}</a>");
            }
        }
        Mode::Report => {
            out.push_str("<b>scantriage report</b> ");
            for (href, label) in [
                ("#overview", "Overview"),
                ("#queue", "Queue"),
                ("#decisions", "Decisions"),
                ("#rules", "Rules"),
            ] {
                let _ = write!(out, "<a href=\"{href}\">{label}</a>");
            }
        }
    }
    let _ = write!(out, "</header><main>{body}</main></body></html>");
    out
}

/// A small form posting to the API with the anti-forgery token; empty in the report.
fn action_form(
    mode: Mode<'_>,
    action: &str,
    fields: &[(&str, &str)],
    button: &str,
    class: &str,
    back: &str,
) -> String {
    let Mode::Served { csrf } = mode else {
        return String::new();
    };
    let mut out = format!(
        "<form class=\"inline {}\" method=\"post\" action=\"{}\"",
        esc(class),
        esc(action)
    );
    for (k, v) in fields {
        if *k == "value" {
            let _ = write!(out, " data-value=\"{}\"", esc(v));
        }
    }
    let _ = write!(
        out,
        "><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"back\" value=\"{}\">",
        esc(csrf),
        esc(back)
    );
    for (k, v) in fields {
        let _ = write!(
            out,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            esc(k),
            esc(v)
        );
    }
    let _ = write!(
        out,
        "<button type=\"submit\">{}</button></form>",
        esc(button)
    );
    out
}

fn verdict_form(
    mode: Mode<'_>,
    action: &str,
    scope: &str,
    value: &str,
    button: &str,
    back: &str,
) -> String {
    let class = action.replace('_', "-");
    action_form(
        mode,
        "/api/verdicts",
        &[("action", action), ("scope", scope), ("value", value)],
        button,
        &class,
        back,
    )
}

fn source_link(mode: Mode<'_>, ip: &std::net::IpAddr) -> String {
    match mode {
        Mode::Served { .. } => format!(
            "<a class=\"mono\" href=\"/source/{}\">{}</a>",
            url_component(&ip.to_string()),
            esc(&ip.to_string())
        ),
        Mode::Report => format!("<span class=\"mono\">{}</span>", esc(&ip.to_string())),
    }
}

fn legend() -> String {
    let mut out = String::from("<div class=\"legend\">");
    for (v, c) in Verdict::ALL.iter().zip(VERDICT_COLOURS) {
        let _ = write!(
            out,
            "<span><i style=\"background:{c}\"></i>{}</span>",
            v.as_str()
        );
    }
    out.push_str("</div>");
    out
}

fn traffic_chart(id: &str, title: &str, buckets: &[Bucket]) -> String {
    let stacks: Vec<Stack> = buckets
        .iter()
        .map(|b| Stack {
            start_ms: b.start_ms,
            values: b.counts().to_vec(),
        })
        .collect();
    let series: Vec<&str> = Verdict::ALL.iter().map(|v| v.as_str()).collect();
    svg::stacked_bars(id, title, &stacks, &series, &VERDICT_COLOURS) + &legend()
}

fn decision_rows(mode: Mode<'_>, ds: &[DecisionView], actions: bool, back: &str) -> String {
    let mut out = String::from(
        "<table class=\"decisions\"><tr><th>Source</th><th>Kind</th><th>For</th><th>Since</th>\
         <th>Expires</th><th>By</th><th>Reasons</th>",
    );
    if actions && matches!(mode, Mode::Served { .. }) {
        out.push_str("<th></th>");
    }
    out.push_str("</tr>");
    for d in ds {
        let ip = d.decision.source.to_string();
        let expires = if d.expires_ms == i64::MAX {
            "never".to_string()
        } else {
            time(d.expires_ms)
        };
        let _ = write!(
            out,
            "<tr data-source=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td>",
            esc(&ip),
            source_link(mode, &d.decision.source),
            d.decision.kind.as_str(),
            esc(&scantriage_report::human_duration(d.decision.duration_secs)),
            esc(&d.decision.at.to_string()),
            esc(&expires),
            esc(&d.decision.by),
            d.decision
                .reasons
                .iter()
                .map(|r| esc(r))
                .collect::<Vec<_>>()
                .join("<br>")
        );
        if actions && matches!(mode, Mode::Served { .. }) {
            out.push_str("<td>");
            out.push_str(&action_form(
                mode,
                "/api/decisions",
                &[("action", "unblock"), ("ip", &ip)],
                "Unblock",
                "unblock",
                back,
            ));
            for (label, dur) in [("+1d", "1d"), ("+7d", "7d")] {
                out.push_str(&action_form(
                    mode,
                    "/api/decisions",
                    &[("action", "extend"), ("ip", &ip), ("duration", dur)],
                    &format!("Extend {label}"),
                    "extend",
                    back,
                ));
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    if ds.is_empty() {
        out.push_str("<p>None.</p>");
    }
    out
}

fn finding_rows(mode: Mode<'_>, fs: &[Finding], back: &str, with_source: bool) -> String {
    let mut out = String::from("<table class=\"evidence\"><tr><th>Time</th>");
    if with_source {
        out.push_str("<th>Source</th>");
    }
    out.push_str(
        "<th>Verdict</th><th>Evidence</th><th>Request</th><th>Status</th><th>User agent</th>\
         <th>Signatures</th><th>Why</th></tr>",
    );
    for f in fs {
        let _ = write!(out, "<tr><td>{}</td>", esc(&f.time.to_string()));
        if with_source {
            let _ = write!(out, "<td>{}</td>", source_link(mode, &f.source));
        }
        let _ = write!(
            out,
            "<td class=\"{}\">{}</td><td class=\"mono\">{}:{}</td><td class=\"mono request\">{}</td>\
             <td>{}</td><td class=\"mono ua\">{}</td><td>",
            verdict_class(f.verdict),
            f.verdict.as_str(),
            esc(&f.input),
            f.line,
            esc(&f.request),
            f.status,
            esc(&f.user_agent)
        );
        for s in &f.signatures {
            let _ = write!(out, "<code>{}</code> ", esc(s));
            if f.verdict > Verdict::Noise {
                out.push_str(&verdict_form(
                    mode,
                    "cannot_work",
                    "signature",
                    s,
                    "Cannot work here",
                    back,
                ));
            }
        }
        let _ = write!(out, "</td><td>{}</td></tr>", esc(&f.why));
    }
    out.push_str("</table>");
    out
}

fn verdict_rows(mode: Mode<'_>, vs: &[VerdictView], back: &str) -> String {
    if vs.is_empty() {
        return "<p>None.</p>".into();
    }
    let mut out = String::from(
        "<table class=\"verdicts\"><tr><th>Id</th><th>Action</th><th>Scope</th><th>Value</th>\
         <th>By</th><th>At</th><th>Note</th><th></th></tr>",
    );
    for v in vs {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>",
            v.id,
            esc(&v.action),
            esc(&v.scope_kind),
            esc(&v.scope_value),
            esc(&v.author),
            esc(&time(v.at_ms)),
            esc(&v.note)
        );
        if v.revoked_ms.is_none() {
            out.push_str(&action_form(
                mode,
                &format!("/api/verdicts/{}/revoke", v.id),
                &[],
                "Revoke",
                "revoke",
                back,
            ));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
    out
}

/// The overview's body.
pub fn overview_body(o: &Overview, mode: Mode<'_>) -> String {
    let mut out = String::from("<h1 id=\"overview\">Overview</h1><div class=\"cards\">");
    for (label, v) in [
        ("lines analysed", o.lines.to_string()),
        ("findings", o.findings.to_string()),
        ("sources", o.sources.to_string()),
        ("active blocks", o.active_blocks.to_string()),
        ("watched", o.active_watches.to_string()),
        ("runs", o.runs.to_string()),
    ] {
        let _ = write!(out, "<div class=\"card\"><b>{v}</b>{label}</div>");
    }
    out.push_str("</div><h2>Findings by verdict over time</h2>");
    out.push_str(&traffic_chart(
        "chart-traffic",
        "Findings by verdict over time",
        &o.traffic,
    ));
    let pruned = o.by_verdict[1];
    let non_benign: u64 = o.by_verdict[1..].iter().sum();
    let _ = write!(
        out,
        "<h2>Noise pruned</h2><div class=\"cards\"><div class=\"card\">{}</div>\
         <div class=\"card\"><b>{pruned}</b>of {non_benign} findings were noise: pruned, \
         nobody needs to look at them</div></div>",
        svg::share_ring("chart-noise", "Share of noise pruned", pruned, non_benign)
    );
    out.push_str("<h2>Top campaigns</h2>");
    let rows: Vec<(String, u64)> = o
        .campaigns
        .iter()
        .map(|c| (format!("{} {}", c.kind, c.key), c.sources))
        .collect();
    out.push_str(&svg::hbars(
        "chart-campaigns",
        "Top campaigns by sources",
        &rows,
        "#5b8def",
    ));
    out.push_str(
        "<table class=\"campaigns\"><tr><th>Kind</th><th>Key</th><th>Sources</th><th>Requests</th>\
         <th>First</th><th>Last</th></tr>",
    );
    for c in &o.campaigns {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.kind),
            esc(&c.key),
            c.sources,
            c.requests,
            esc(&time(c.first_seen_ms)),
            esc(&time(c.last_seen_ms))
        );
    }
    out.push_str("</table><h2>Latest active decisions</h2>");
    out.push_str(&decision_rows(mode, &o.latest_decisions, false, "/"));
    out
}

/// The queue's body.
pub fn queue_body(q: &Queue, mode: Mode<'_>) -> String {
    let back = "/queue";
    let mut out = String::from("<h1 id=\"queue\">Queue</h1>");
    let _ = write!(
        out,
        "<p>{} sources with urgent, relevant or unknown findings that nobody has \
         acknowledged or suppressed.</p><h2>By campaign</h2>\
         <table class=\"queue-campaigns\"><tr><th>Worst</th><th>Signatures</th><th>Findings</th>\
         <th>Sources</th><th>Last</th><th></th></tr>",
        q.sources.len()
    );
    for g in &q.campaigns {
        let sigs = if g.signatures.is_empty() {
            "<i>heuristics</i>".to_string()
        } else {
            g.signatures
                .iter()
                .map(|s| format!("<code>{}</code>", esc(s)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        let _ = write!(
            out,
            "<tr data-signatures=\"{}\"><td class=\"{}\">{}</td><td>{sigs}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>",
            esc(&g.signatures.join(" ")),
            verdict_class(g.worst),
            g.worst.as_str(),
            g.findings,
            g.sources,
            esc(&time(g.last_ms))
        );
        for s in &g.signatures {
            out.push_str(&verdict_form(
                mode,
                "cannot_work",
                "signature",
                s,
                &format!("{s}: cannot work here"),
                back,
            ));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table><h2>By source</h2>");
    for s in &q.sources {
        let ip = s.ip.to_string();
        let _ = write!(
            out,
            "<div class=\"src\" data-source=\"{}\" data-verdict=\"{}\"><b class=\"{}\">{}</b> {} \
             · {} open findings · last {} ",
            esc(&ip),
            s.worst.as_str(),
            verdict_class(s.worst),
            s.worst.as_str(),
            source_link(mode, &s.ip),
            s.findings,
            esc(&time(s.last_ms))
        );
        out.push_str(&verdict_form(
            mode,
            "acknowledge",
            "source",
            &ip,
            "Acknowledge",
            back,
        ));
        out.push_str(&action_form(
            mode,
            "/api/decisions",
            &[("action", "block"), ("ip", &ip), ("duration", "7d")],
            "Block 7d",
            "block",
            back,
        ));
        out.push_str(&finding_rows(mode, &s.evidence, back, false));
        out.push_str("</div>");
    }
    if q.sources.is_empty() {
        out.push_str("<p>The queue is empty.</p>");
    }
    out
}

/// A source page's body.
pub fn source_body(p: &SourcePage, mode: Mode<'_>) -> String {
    let ip = p.ip.to_string();
    let back = format!("/source/{}", url_component(&ip));
    let mut out = format!("<h1>Source <span class=\"mono\">{}</span></h1>", esc(&ip));
    match &p.summary {
        Some(s) => {
            let _ = write!(
                out,
                "<p><b class=\"{}\">{}</b> · decision <b>{}</b> · {} events, {} findings · \
                 {} .. {}</p><p>Signatures: {}</p><h2>Reasons</h2><ul>",
                verdict_class(s.verdict),
                s.verdict.as_str(),
                s.decision.as_str(),
                s.events,
                s.findings,
                esc(&s.first_seen.to_string()),
                esc(&s.last_seen.to_string()),
                s.signatures
                    .iter()
                    .map(|x| format!("<code>{}</code>", esc(x)))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            for r in &s.reasons {
                let _ = write!(out, "<li>{}</li>", esc(r));
            }
            out.push_str("</ul>");
        }
        None => out.push_str("<p>No summary stored for this address.</p>"),
    }
    if matches!(mode, Mode::Served { .. }) {
        out.push_str("<p>");
        out.push_str(&action_form(
            mode,
            "/api/decisions",
            &[("action", "block"), ("ip", &ip), ("duration", "7d")],
            "Block 7d",
            "block",
            &back,
        ));
        out.push_str(&action_form(
            mode,
            "/api/decisions",
            &[("action", "unblock"), ("ip", &ip)],
            "Unblock",
            "unblock",
            &back,
        ));
        out.push_str(&verdict_form(mode, "allow", "source", &ip, "Allow", &back));
        out.push_str(&verdict_form(
            mode,
            "acknowledge",
            "source",
            &ip,
            "Acknowledge",
            &back,
        ));
        out.push_str("</p>");
    }
    out.push_str("<h2>Timeline</h2>");
    out.push_str(&traffic_chart(
        "chart-source",
        "Findings of this source per hour",
        &p.timeline,
    ));
    out.push_str("<h2>Decisions</h2>");
    out.push_str(&decision_rows(mode, &p.decisions, false, &back));
    out.push_str("<h2>Verdicts</h2>");
    out.push_str(&verdict_rows(mode, &p.verdicts, &back));
    let _ = write!(out, "<h2>Requests ({} newest)</h2>", p.findings.len());
    out.push_str(&finding_rows(mode, &p.findings, &back, false));
    out
}

/// The decisions page's body.
pub fn decisions_body(d: &DecisionsPage, mode: Mode<'_>) -> String {
    let mut out = format!(
        "<h1 id=\"decisions\">Decisions</h1><p>{} active block and watch decisions at {}.</p>",
        d.active.len(),
        esc(&time(d.now_ms))
    );
    if let Mode::Served { csrf } = mode {
        let _ = write!(
            out,
            "<form class=\"add-decision\" method=\"post\" action=\"/api/decisions\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" \
             value=\"/decisions\"><input type=\"hidden\" name=\"action\" value=\"block\">\
             Block <input name=\"ip\" placeholder=\"address\" required> for \
             <input name=\"duration\" value=\"7d\" size=\"5\"> because \
             <input name=\"reason\" placeholder=\"reason\"> <button type=\"submit\">Block</button></form>",
            esc(csrf)
        );
    }
    out.push_str(&decision_rows(mode, &d.active, true, "/decisions"));
    out
}

/// The rules page's body.
pub fn rules_body(r: &RulesPage, mode: Mode<'_>) -> String {
    let back = "/rules";
    let mut out = String::from("<h1 id=\"rules\">Rules</h1><h2>Matches per signature</h2>");
    let rows: Vec<(String, u64)> = r
        .signatures
        .iter()
        .take(20)
        .map(|s| (s.id.clone(), s.matches))
        .collect();
    out.push_str(&svg::hbars(
        "chart-rules",
        "Matches per signature",
        &rows,
        "#e07000",
    ));
    out.push_str(
        "<table class=\"rules\"><tr><th>Signature</th><th>Matches</th><th>Last seen</th>\
         <th>Suppressions</th><th></th></tr>",
    );
    for s in &r.signatures {
        let sup = s
            .verdicts
            .iter()
            .map(|v| format!("{} by {} ({})", esc(&v.action), esc(&v.author), v.id))
            .collect::<Vec<_>>()
            .join("<br>");
        let _ = write!(
            out,
            "<tr data-signature=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{sup}</td><td>",
            esc(&s.id),
            esc(&s.id),
            s.matches,
            esc(&time(s.last_ms))
        );
        if s.verdicts.iter().all(|v| v.action != "cannot_work") {
            out.push_str(&verdict_form(
                mode,
                "cannot_work",
                "signature",
                &s.id,
                "Cannot work here",
                back,
            ));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</table><h2>A person's verdicts in force</h2>");
    out.push_str(&verdict_rows(mode, &r.verdicts, back));
    if let Mode::Served { csrf } = mode {
        let _ = write!(
            out,
            "<h2>New verdict</h2><form class=\"add-verdict\" method=\"post\" action=\"/api/verdicts\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"back\" \
             value=\"/rules\"><select name=\"action\"><option value=\"cannot_work\">cannot work here\
             </option><option value=\"acknowledge\">acknowledge</option><option value=\"allow\">allow\
             </option><option value=\"block\">block</option></select> <select name=\"scope\">\
             <option>signature</option><option>target</option><option>path</option>\
             <option>source</option></select> <input name=\"value\" required placeholder=\"value\"> \
             <input name=\"note\" placeholder=\"note\"> <button type=\"submit\">Record</button></form>",
            esc(csrf)
        );
    }
    out
}

/// The self-contained report: every section on one page, no script, no external asset.
pub fn report(
    o: &Overview,
    q: &Queue,
    d: &DecisionsPage,
    r: &RulesPage,
    generated_ms: i64,
) -> String {
    let mode = Mode::Report;
    let mut body = format!(
        "<p>Generated {} from the store.</p>",
        esc(&time(generated_ms))
    );
    body.push_str(&overview_body(o, mode));
    body.push_str(&queue_body(q, mode));
    body.push_str(&decisions_body(d, mode));
    body.push_str(&rules_body(r, mode));
    layout("Report", "", &body, mode)
}
