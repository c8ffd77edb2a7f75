//! The dashboard: one page at `/_mock/ui` (`/` redirects there), plain HTML,
//! CSS and JavaScript compiled into the binary, so it works offline and
//! needs no build step. The page holds no data of its own: everything it
//! shows comes from documented control-API calls (and `/_mock/events` for
//! live updates), sent with the admin token the page asks for when the
//! server has one.
//!
//! Access: without `--admin-token` the page is served to whoever may use
//! the control API (loopback clients). With a token, the page itself is
//! served to anyone — it contains no data — and asks for the token before
//! any call.

mod vocabulary;

use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use axum::Router;

use crate::admin::AdminError;
use crate::protocol::Reason;
use crate::registry::Registry;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// Where the page lives.
pub const PAGE_PATH: &str = "/_mock/ui";

/// Scripts, styles and connections from this server only: the page can
/// never pull anything from a CDN, and injected markup cannot run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<Arc<Registry>> {
    Router::new()
        .route(PAGE_PATH, get(index))
        .route("/_mock/ui/", get(index))
        .route("/_mock/ui/app.js", get(app_js))
        .route("/_mock/ui/style.css", get(style_css))
        .method_not_allowed_fallback(wrong_method)
        .route("/", any(root))
}

/// `GET /` opens the dashboard; anything else there is the engine's 404,
/// as before the page existed.
async fn root(method: Method, uri: Uri) -> Response {
    if method == Method::GET || method == Method::HEAD {
        Redirect::to(PAGE_PATH).into_response()
    } else {
        crate::api::not_found(uri).await
    }
}

async fn wrong_method(method: Method, uri: Uri) -> AdminError {
    AdminError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        Reason::MethodNotAllowed,
        format!("{method} is not allowed on {uri}; the dashboard's files are read with GET"),
    )
}

/// The control API's guard, except that with an admin token the (data-free)
/// page is served to everyone and asks for the token itself.
struct PageAccess;

impl FromRequestParts<Arc<Registry>> for PageAccess {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        registry: &Arc<Registry>,
    ) -> Result<Self, AdminError> {
        if registry.config.admin_token.is_none() {
            crate::admin::check_guard(parts, registry)?;
        }
        Ok(PageAccess)
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The assets change with the binary; a stale cached script would talk
    // to calls a newer engine no longer has.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The page, with the server's vocabulary embedded (rendered once).
fn page() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| vocabulary::embed(INDEX_HTML))
}

async fn index(_access: PageAccess) -> Response {
    asset("text/html; charset=utf-8", page())
}

async fn app_js(_access: PageAccess) -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css(_access: PageAccess) -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}
