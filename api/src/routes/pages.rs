//! The pages a browser opens: the reference storefront at `/` and GraphiQL at `/graphiql`. Their files
//! are embedded in the binary (GraphiQL's taken from its npm package at build time, see `build.rs`), so
//! every instance serves the same version and nothing comes from the internet. Each page's
//! Content-Security-Policy lets it load from and talk to its own origin only.

use std::sync::OnceLock;

use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{IntoResponse, Request, Response, handler};
use sha2::{Digest, Sha256};

/// Plain HTML, CSS and JavaScript modules: no inline script or style, no other host.
const STOREFRONT_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// GraphiQL's components set style attributes, hence `'unsafe-inline'` for styles (never for scripts).
const GRAPHIQL_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

struct File {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    etag: OnceLock<String>,
}

impl File {
    const fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Self {
        Self { name, content_type, body, etag: OnceLock::new() }
    }

    /// A strong validator, so that browsers revalidate cheaply and never mix two versions.
    fn etag(&self) -> &str {
        self.etag.get_or_init(|| format!("\"{}\"", hex(&Sha256::digest(self.body)[..12])))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! web_file {
    ($name:literal, $type:expr, $path:literal) => {
        File::new($name, $type, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/", $path)))
    };
}

macro_rules! node_module {
    ($name:literal, $type:expr, $path:literal) => {
        File::new($name, $type, include_bytes!(concat!(env!("MYCLOTHES_NODE_MODULES"), "/", $path)))
    };
}

static STOREFRONT_FILES: [File; 11] = [
    web_file!("index.html", HTML, "storefront/index.html"),
    web_file!("style.css", CSS, "storefront/style.css"),
    web_file!("app.js", JS, "storefront/app.js"),
    web_file!("api.js", JS, "storefront/api.js"),
    web_file!("dom.js", JS, "storefront/dom.js"),
    web_file!("state.js", JS, "storefront/state.js"),
    web_file!("catalog.js", JS, "storefront/catalog.js"),
    web_file!("cart.js", JS, "storefront/cart.js"),
    web_file!("address.js", JS, "storefront/address.js"),
    web_file!("account.js", JS, "storefront/account.js"),
    web_file!("checkout.js", JS, "storefront/checkout.js"),
];

static GRAPHIQL_FILES: [File; 7] = [
    web_file!("index.html", HTML, "graphiql/index.html"),
    web_file!("page.css", CSS, "graphiql/page.css"),
    web_file!("start.js", JS, "graphiql/start.js"),
    node_module!("graphiql.min.js", JS, "graphiql/graphiql.min.js"),
    node_module!("graphiql.min.css", CSS, "graphiql/graphiql.min.css"),
    node_module!("react.production.min.js", JS, "react/umd/react.production.min.js"),
    node_module!("react-dom.production.min.js", JS, "react-dom/umd/react-dom.production.min.js"),
];

/// A page and the files it loads, all under one policy.
struct Site {
    policy: &'static str,
    files: &'static [File],
}

static STOREFRONT: Site = Site { policy: STOREFRONT_POLICY, files: &STOREFRONT_FILES };
static GRAPHIQL: Site = Site { policy: GRAPHIQL_POLICY, files: &GRAPHIQL_FILES };

impl Site {
    fn serve(&self, name: &str, request: &Request) -> Response {
        let Some(file) = self.files.iter().find(|file| file.name == name) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let etag = file.etag();
        let response = Response::builder()
            .header("content-security-policy", self.policy)
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(header::REFERRER_POLICY, "no-referrer")
            .header(header::CACHE_CONTROL, "no-cache")
            .header(header::ETAG, etag);
        if is_cached(request, etag) {
            return response.status(StatusCode::NOT_MODIFIED).finish();
        }
        response.content_type(file.content_type).body(file.body)
    }
}

/// Whether the browser's copy, named by `If-None-Match`, is this version.
fn is_cached(request: &Request, etag: &str) -> bool {
    let Some(Ok(tags)) = request.headers().get(header::IF_NONE_MATCH).map(|value| value.to_str()) else {
        return false;
    };
    tags.split(',').map(str::trim).any(|tag| tag == etag || tag == "*")
}

#[handler]
pub fn storefront(request: &Request) -> Response {
    STOREFRONT.serve("index.html", request)
}

#[handler]
pub fn storefront_file(Path(name): Path<String>, request: &Request) -> Response {
    STOREFRONT.serve(&name, request)
}

#[handler]
pub fn graphiql(request: &Request) -> Response {
    GRAPHIQL.serve("index.html", request)
}

#[handler]
pub fn graphiql_file(Path(name): Path<String>, request: &Request) -> Response {
    GRAPHIQL.serve(&name, request)
}
