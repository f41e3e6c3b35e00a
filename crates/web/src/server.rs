//! The dashboard server: pages, the JSON API, authentication and anti-forgery checks.
//!
//! Every response carries a strict Content-Security-Policy. Every state-changing request
//! (POST, DELETE) must carry the per-process anti-forgery token (form field `csrf` or
//! header `X-CSRF-Token`) and must not come from another site (`Sec-Fetch-Site`,
//! `Origin`). When a token is configured (required off loopback), every request needs
//! `Authorization: Bearer TOKEN` or the `st_auth` cookie set by `/login`.

// Handlers answer with a `Response` on either path; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use crate::model::{self, now_ms};
use crate::pages::{self, Mode};
use crate::verdicts::{self, ActionError, NewVerdict};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use scantriage_core::{Decision, DecisionKind, Timestamp};
use scantriage_store::{SqliteStore, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Decides whether a block of an address must be refused (allowlist, own addresses).
pub type RefuseBlock = Arc<dyn Fn(ipnet::IpNet) -> bool + Send + Sync>;

/// How to run the dashboard.
#[derive(Clone)]
pub struct ServeOptions {
    /// The store to read and write.
    pub db: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The access token (`serve.token`); required when `listen` is not loopback.
    pub token: Option<String>,
    /// The name recorded as author of the person's actions.
    pub author: String,
    /// Refuses blocks of allowlisted addresses.
    pub refuse_block: RefuseBlock,
    /// The suppressions of a set of verdicts (resolved against the loaded rules).
    pub suppressions: verdicts::SuppressionsOf,
    /// How long a person's block verdict blocks one address, in seconds.
    pub block_secs: u64,
}

/// Checks that a listen address and token fit together: off loopback a token is required,
/// and a token must be long and cookie-safe.
pub fn check_binding(listen: &SocketAddr, token: Option<&str>) -> Result<(), String> {
    if let Some(t) = token {
        if t.len() < 16
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        {
            return Err(
                "serve.token must be at least 16 characters of A-Z, a-z, 0-9, '-', '_', '.', '~'"
                    .into(),
            );
        }
    }
    if !listen.ip().is_loopback() && token.is_none() {
        return Err(format!(
            "listening on {listen} (not a loopback address) requires serve.token in the \
             configuration; requests then need `Authorization: Bearer TOKEN` or a login"
        ));
    }
    Ok(())
}

struct App {
    store: Mutex<SqliteStore>,
    csrf: String,
    token: Option<String>,
    author: String,
    refuse_block: RefuseBlock,
    verdicts: verdicts::VerdictContext,
}

impl App {
    fn mode(&self) -> Mode<'_> {
        Mode::Served { csrf: &self.csrf }
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&SqliteStore) -> Result<T, StoreError>,
    ) -> Result<T, Response> {
        let st = self.store.lock().unwrap_or_else(|e| e.into_inner());
        f(&st).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string(), false))
    }
}

/// A random hex token of 32 bytes from the kernel's generator.
fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Runs the dashboard until the process ends; `ready` is called with the bound address.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    check_binding(&opts.listen, opts.token.as_deref())?;
    let store = SqliteStore::open(&opts.db).map_err(|e| e.to_string())?;
    let app = Arc::new(App {
        store: Mutex::new(store),
        csrf: random_token().map_err(|e| format!("cannot read /dev/urandom: {e}"))?,
        token: opts.token.clone(),
        author: opts.author.clone(),
        refuse_block: opts.refuse_block.clone(),
        verdicts: verdicts::VerdictContext {
            suppressions: opts.suppressions.clone(),
            refuse_block: opts.refuse_block.clone(),
            block_secs: opts.block_secs,
        },
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        ready(addr);
        axum::serve(listener, router(app))
            .await
            .map_err(|e| format!("serving on {addr}: {e}"))
    })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(page_overview))
        .route("/queue", get(page_queue))
        .route("/source/{ip}", get(page_source))
        .route("/decisions", get(page_decisions))
        .route("/rules", get(page_rules))
        .route("/login", get(login_get).post(login_post))
        .route("/api/overview", get(api_overview))
        .route("/api/queue", get(api_queue))
        .route("/api/source/{ip}", get(api_source))
        .route("/api/decisions", get(api_decisions).post(post_decision))
        .route("/api/rules", get(api_rules))
        .route("/api/campaigns", get(api_campaigns))
        .route("/api/csrf", get(api_csrf))
        .route("/api/verdicts", get(api_verdicts).post(post_verdict))
        .route("/api/verdicts/{id}", axum::routing::delete(delete_verdict))
        .route("/api/verdicts/{id}/revoke", post(revoke_verdict_form))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Authentication (when a token is configured) and the security headers of every response.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let open = req.uri().path() == "/login";
    let mut resp = if app.token.is_none() && !loopback_host(req.headers()) {
        // Without a token only loopback names are served: a page of another site whose
        // name was made to resolve to 127.0.0.1 (DNS rebinding) gets nothing.
        error(
            StatusCode::MISDIRECTED_REQUEST,
            "this dashboard answers only to localhost, 127.0.0.1 or [::1]",
            false,
        )
    } else if app.token.is_some() && !open && !authorized(&app, req.headers()) {
        let mut r = (
            StatusCode::UNAUTHORIZED,
            Html(pages::layout(
                "Login required",
                "",
                "<p>This dashboard needs its token: <a href=\"/login\">log in</a>.</p>",
                app.mode(),
            )),
        )
            .into_response();
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"scantriage\""),
        );
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(pages::CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: with it browsers send `Origin: null` on the pages' own forms.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// True when the request's `Host` names the loopback interface (`localhost`, 127.0.0.0/8, `[::1]`).
fn loopback_host(h: &HeaderMap) -> bool {
    let Some(host) = h.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(n, _)| n)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn authorized(app: &App, h: &HeaderMap) -> bool {
    let Some(token) = &app.token else {
        return true;
    };
    let bearer = h
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| same_secret(t.trim().as_bytes(), token.as_bytes()));
    bearer || cookie(h, "st_auth").is_some_and(|c| same_secret(c.as_bytes(), token.as_bytes()))
}

fn cookie<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Refuses a state-changing request that comes from another site.
fn same_origin(h: &HeaderMap) -> Result<(), Response> {
    if let Some(site) = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Err(error(
                StatusCode::FORBIDDEN,
                "cross-site request refused",
                false,
            ));
        }
    }
    if let Some(origin) = h.get(header::ORIGIN) {
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let ok = match (origin.to_str().ok(), host) {
            (Some(o), Some(host)) => o == format!("http://{host}"),
            _ => false,
        };
        if !ok {
            return Err(error(
                StatusCode::FORBIDDEN,
                "request from another origin refused",
                false,
            ));
        }
    }
    Ok(())
}

fn error(status: StatusCode, msg: &str, form: bool) -> Response {
    if form {
        let body = format!(
            "<p class=\"msg\">{}</p><p><a href=\"/\">Back to the overview</a></p>",
            crate::html::esc(msg)
        );
        (
            status,
            Html(pages::layout("Error", "", &body, Mode::Report)),
        )
            .into_response()
    } else {
        (status, Json(serde_json::json!({ "error": msg }))).into_response()
    }
}

fn page(app: &App, title: &str, nav: &str, body: Result<String, Response>) -> Response {
    match body {
        Ok(b) => Html(pages::layout(title, nav, &b, app.mode())).into_response(),
        Err(r) => r,
    }
}

fn api<T: Serialize>(v: Result<T, Response>) -> Response {
    match v {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

fn parse_ip(s: &str) -> Result<IpAddr, Response> {
    s.parse().map_err(|_| {
        error(
            StatusCode::BAD_REQUEST,
            &format!("`{s}` is not an IP address"),
            false,
        )
    })
}

/// How many sources and campaigns the queue shows.
const QUEUE_LIMIT: usize = 100;
/// How many signatures the rules page shows.
const RULES_LIMIT: usize = 500;

async fn page_overview(State(app): State<Arc<App>>) -> Response {
    let b =
        app.read(|st| model::overview(st, now_ms()).map(|o| pages::overview_body(&o, app.mode())));
    page(&app, "Overview", "overview", b)
}

async fn page_queue(State(app): State<Arc<App>>) -> Response {
    let b = app.read(|st| model::queue(st, QUEUE_LIMIT).map(|q| pages::queue_body(&q, app.mode())));
    page(&app, "Queue", "queue", b)
}

async fn page_source(State(app): State<Arc<App>>, Path(ip): Path<String>) -> Response {
    let ip = match parse_ip(&ip) {
        Ok(ip) => ip,
        Err(r) => return r,
    };
    let b = app.read(|st| model::source(st, ip).map(|p| pages::source_body(&p, app.mode())));
    page(&app, &format!("Source {ip}"), "", b)
}

async fn page_decisions(State(app): State<Arc<App>>) -> Response {
    let b = app
        .read(|st| model::decisions(st, now_ms()).map(|d| pages::decisions_body(&d, app.mode())));
    page(&app, "Decisions", "decisions", b)
}

async fn page_rules(State(app): State<Arc<App>>) -> Response {
    let b = app.read(|st| model::rules(st, RULES_LIMIT).map(|r| pages::rules_body(&r, app.mode())));
    page(&app, "Rules", "rules", b)
}

async fn api_overview(State(app): State<Arc<App>>) -> Response {
    api(app.read(|st| model::overview(st, now_ms())))
}

async fn api_queue(State(app): State<Arc<App>>) -> Response {
    api(app.read(|st| model::queue(st, QUEUE_LIMIT)))
}

async fn api_source(State(app): State<Arc<App>>, Path(ip): Path<String>) -> Response {
    match parse_ip(&ip) {
        Ok(ip) => api(app.read(|st| model::source(st, ip))),
        Err(r) => r,
    }
}

async fn api_decisions(State(app): State<Arc<App>>) -> Response {
    api(app.read(|st| model::decisions(st, now_ms())))
}

async fn api_rules(State(app): State<Arc<App>>) -> Response {
    api(app.read(|st| model::rules(st, RULES_LIMIT)))
}

async fn api_campaigns(State(app): State<Arc<App>>) -> Response {
    api(app.read(|st| model::campaigns(st, 100)))
}

async fn api_verdicts(State(app): State<Arc<App>>) -> Response {
    api(app.read(|st| verdicts::list(st, true)))
}

async fn api_csrf(State(app): State<Arc<App>>) -> Response {
    Json(serde_json::json!({ "token": app.csrf })).into_response()
}

#[derive(Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

fn login_ok(app: &App, given: &str) -> Response {
    match &app.token {
        Some(t) if same_secret(given.as_bytes(), t.as_bytes()) => {
            let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
            if let Ok(v) =
                HeaderValue::from_str(&format!("st_auth={t}; HttpOnly; SameSite=Strict; Path=/"))
            {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Some(_) => error(StatusCode::UNAUTHORIZED, "wrong token", true),
        None => (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response(),
    }
}

async fn login_get(State(app): State<Arc<App>>, Query(q): Query<LoginQuery>) -> Response {
    if let Some(t) = q.token {
        return login_ok(&app, &t);
    }
    Html(pages::layout(
        "Login",
        "",
        "<form method=\"post\" action=\"/login\"><label>Token <input type=\"password\" \
         name=\"token\" autofocus></label> <button type=\"submit\">Log in</button></form>",
        Mode::Report,
    ))
    .into_response()
}

async fn login_post(State(app): State<Arc<App>>, req: Request) -> Response {
    if let Err(r) = same_origin(req.headers()) {
        return r;
    }
    match Form::<LoginQuery>::from_request(req, &()).await {
        Ok(Form(LoginQuery { token: Some(t) })) => login_ok(&app, &t),
        _ => error(StatusCode::BAD_REQUEST, "no token given", true),
    }
}

/// The fields every form adds: the anti-forgery token and where to go afterwards.
#[derive(Deserialize, Default)]
struct FormMeta {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

/// A parsed action request: its fields, the token it carried and whether it was a form.
struct Action<T> {
    body: T,
    token: String,
    back: Option<String>,
}

fn is_form(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Parses a form or JSON action request and checks origin and anti-forgery token.
async fn action<T: serde::de::DeserializeOwned>(
    app: &App,
    req: Request,
) -> Result<Action<T>, Response> {
    let form = is_form(req.headers());
    same_origin(req.headers()).map_err(|_| {
        error(
            StatusCode::FORBIDDEN,
            "request from another site refused",
            form,
        )
    })?;
    let header_token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let parsed = if form {
        let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024)
            .await
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e.to_string(), true))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let meta: FormMeta =
            serde_urlencoded_lite(&text).map_err(|e| error(StatusCode::BAD_REQUEST, &e, true))?;
        let body: T =
            serde_urlencoded_lite(&text).map_err(|e| error(StatusCode::BAD_REQUEST, &e, true))?;
        let back = Some(meta.back).filter(|b| safe_back(b));
        Action {
            body,
            token: meta.csrf,
            back: back.or(Some("/".into())),
        }
    } else {
        let Json(body) = Json::<T>::from_request(req, &())
            .await
            .map_err(|e| error(StatusCode::BAD_REQUEST, &e.body_text(), false))?;
        Action {
            body,
            token: header_token,
            back: None,
        }
    };
    if !same_secret(parsed.token.as_bytes(), app.csrf.as_bytes()) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "missing or wrong anti-forgery token (csrf field or X-CSRF-Token header)",
            form,
        ));
    }
    Ok(parsed)
}

/// Parses `application/x-www-form-urlencoded` into `T` through a JSON object of strings.
fn serde_urlencoded_lite<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let mut map = serde_json::Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(
            percent_decode(k),
            serde_json::Value::String(percent_decode(v)),
        );
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| format!("bad form: {e}"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A redirect target is a local path (not `//host`, not a scheme).
fn safe_back(b: &str) -> bool {
    b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') && !b.contains(['\r', '\n'])
}

fn done(a: &Action<impl Sized>, json: serde_json::Value) -> Response {
    match &a.back {
        Some(back) => (StatusCode::SEE_OTHER, [(header::LOCATION, back.clone())]).into_response(),
        None => Json(json).into_response(),
    }
}

fn action_error(e: ActionError, form: bool) -> Response {
    let status = match e {
        ActionError::Invalid(_) => StatusCode::BAD_REQUEST,
        ActionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string(), form)
}

async fn post_verdict(State(app): State<Arc<App>>, req: Request) -> Response {
    let a = match action::<NewVerdict>(&app, req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut st = app.store.lock().unwrap_or_else(|e| e.into_inner());
    match verdicts::add(&mut st, &app.verdicts, &a.body, &app.author, now_ms()) {
        Ok(id) => done(&a, serde_json::json!({ "ok": true, "id": id })),
        Err(e) => action_error(e, a.back.is_some()),
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn revoke(app: &App, id: &str, req: Request) -> Response {
    let a = match action::<Empty>(app, req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let form = a.back.is_some();
    let Ok(id) = id.parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "the verdict id is not a number",
            form,
        );
    };
    let mut st = app.store.lock().unwrap_or_else(|e| e.into_inner());
    match verdicts::revoke(&mut st, id, &app.author, now_ms()) {
        Ok(true) => done(&a, serde_json::json!({ "ok": true, "id": id })),
        Ok(false) => error(
            StatusCode::NOT_FOUND,
            &format!("no verdict {id} in force"),
            form,
        ),
        Err(e) => action_error(e, form),
    }
}

async fn delete_verdict(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    mut req: Request,
) -> Response {
    // DELETE has no body: parse as an empty JSON object.
    if req.method() == Method::DELETE {
        *req.body_mut() = axum::body::Body::from("{}");
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    revoke(&app, &id, req).await
}

async fn revoke_verdict_form(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    revoke(&app, &id, req).await
}

/// A decision action: `block`, `watch`, `unblock` or `extend` one address.
#[derive(Deserialize)]
struct DecisionAction {
    action: String,
    ip: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    reason: String,
}

/// Parses a duration like `7d`, `6h`, `1d12h`, `30m`; positive.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(format!("`{s}` is not a duration; write e.g. 6h, 7d, 30m")),
        };
        let n: u64 = num
            .parse()
            .map_err(|_| format!("`{s}` is not a duration; write e.g. 6h, 7d, 30m"))?;
        total = total.saturating_add(n.saturating_mul(unit));
        num.clear();
    }
    if !num.is_empty() || total == 0 {
        return Err(format!(
            "`{s}` is not a positive duration; write e.g. 6h, 7d, 30m"
        ));
    }
    Ok(total)
}

/// Records a person's decision about one address; the text says what was done.
pub fn decide(
    st: &mut SqliteStore,
    refuse_block: &dyn Fn(ipnet::IpNet) -> bool,
    author: &str,
    action: &str,
    ip: IpAddr,
    duration: &str,
    reason: &str,
) -> Result<String, ActionError> {
    let now = now_ms();
    let at = Timestamp {
        unix_ms: now,
        offset_min: 0,
    };
    let because = |default: String| {
        let r = if reason.trim().is_empty() {
            default
        } else {
            reason.trim().to_string()
        };
        format!("{r} (by {author})")
    };
    let d = match action {
        "block" | "watch" => {
            let secs = parse_duration(duration).map_err(ActionError::Invalid)?;
            let kind = if action == "block" {
                DecisionKind::Block
            } else {
                DecisionKind::Watch
            };
            if kind == DecisionKind::Block && refuse_block(ipnet::IpNet::from(ip)) {
                return Err(ActionError::Invalid(format!(
                    "{ip} is allowlisted (policy.allowlist, loopback or this host's address): not blocked"
                )));
            }
            Decision {
                source: ip,
                kind,
                duration_secs: secs,
                reasons: vec![because(format!("{action} from the dashboard"))],
                by: author.to_string(),
                at,
            }
        }
        "unblock" => {
            if !st.active_decisions(now)?.iter().any(|d| d.source == ip) {
                return Err(ActionError::Invalid(format!("{ip}: no active decision")));
            }
            Decision {
                source: ip,
                kind: DecisionKind::Ignore,
                duration_secs: 0,
                reasons: vec![because(format!("deleted by {author}"))],
                by: author.to_string(),
                at,
            }
        }
        "extend" => {
            let extra = parse_duration(duration).map_err(ActionError::Invalid)?;
            let active = st.active_decisions(now)?;
            let Some(cur) = active.into_iter().find(|d| d.source == ip) else {
                return Err(ActionError::Invalid(format!(
                    "{ip}: no active decision to extend"
                )));
            };
            let left_ms = cur
                .at
                .unix_ms
                .saturating_add(
                    i64::try_from(cur.duration_secs)
                        .unwrap_or(i64::MAX)
                        .saturating_mul(1000),
                )
                .saturating_sub(now)
                .max(0);
            let mut reasons = cur.reasons.clone();
            reasons.push(because(format!(
                "extended by {}",
                scantriage_report::human_duration(extra)
            )));
            Decision {
                source: ip,
                kind: cur.kind,
                duration_secs: (left_ms / 1000) as u64 + extra,
                reasons,
                by: author.to_string(),
                at,
            }
        }
        other => {
            return Err(ActionError::Invalid(format!(
                "unknown action `{other}`; expected block, watch, unblock or extend"
            )))
        }
    };
    let text = format!(
        "{ip}: {} for {}",
        d.kind.as_str(),
        scantriage_report::human_duration(d.duration_secs)
    );
    verdicts::record(st, d)?;
    Ok(text)
}

async fn post_decision(State(app): State<Arc<App>>, req: Request) -> Response {
    let a = match action::<DecisionAction>(&app, req).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let form = a.back.is_some();
    let ip = match a.body.ip.trim().parse::<IpAddr>() {
        Ok(ip) => ip,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("`{}` is not an IP address", a.body.ip),
                form,
            )
        }
    };
    let mut st = app.store.lock().unwrap_or_else(|e| e.into_inner());
    match decide(
        &mut st,
        app.refuse_block.as_ref(),
        &app.author,
        &a.body.action,
        ip,
        &a.body.duration,
        &a.body.reason,
    ) {
        Ok(text) => done(&a, serde_json::json!({ "ok": true, "done": text })),
        Err(e) => action_error(e, form),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_names_without_a_token() {
        let host = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_str(v).unwrap());
            loopback_host(&h)
        };
        assert!(host("127.0.0.1:8080") && host("localhost:1") && host("[::1]:80"));
        assert!(host("LOCALHOST") && host("127.1.2.3"));
        assert!(!host("evil.example:8080") && !host("localhost.evil.example"));
        assert!(!host("[::2]:80") && !host("10.0.0.1"));
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn forms_and_durations_parse() {
        assert_eq!(percent_decode("a%3Cb%3E+c"), "a<b> c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(parse_duration("1d12h").unwrap(), 129_600);
        assert!(parse_duration("7x").is_err() && parse_duration("0d").is_err());
        assert!(safe_back("/queue") && !safe_back("//evil") && !safe_back("https://x"));
        let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(check_binding(&loopback, None).is_ok());
        assert!(check_binding(&any, None)
            .unwrap_err()
            .contains("serve.token"));
        assert!(check_binding(&any, Some("short")).is_err());
        assert!(check_binding(&any, Some("0123456789abcdef0123")).is_ok());
    }
}
