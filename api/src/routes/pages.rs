//! The pages a browser opens: the reference storefront at `/` and GraphiQL at `/graphiql`. Their files
//! are embedded in the binary (GraphiQL's taken from its npm package at build time, see `build.rs`), so
//! every instance serves the same version and nothing comes from the internet. Each page's
//! Content-Security-Policy lets it load from and talk to its own origin only.

use std::sync::OnceLock;

use poem::http::{StatusCode, header};
use poem::web::Path;
use poem::{IntoResponse, Request, Response, handler};

/// The storefront is files from this origin and talks to it only: no inline script or style, no other
/// host, no framing. (`data:` images: the empty favicon, so that browsers do not ask for one.)
const STOREFRONT_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The same for GraphiQL, whose stylesheet carries its fonts as `data:` URLs.
const GRAPHIQL_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; font-src data:; connect-src 'self'; form-action 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

struct File {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// The body gzipped at build time: the large vendored files have it.
    gzipped: Option<&'static [u8]>,
    /// A strong validator of `body`: browsers revalidate cheaply and never mix two versions.
    etag: OnceLock<String>,
    /// The same for `gzipped`, which is another representation, so another tag.
    gzipped_etag: OnceLock<String>,
}

impl File {
    const fn new(
        name: &'static str,
        content_type: &'static str,
        body: &'static [u8],
        gzipped: Option<&'static [u8]>,
    ) -> Self {
        Self { name, content_type, body, gzipped, etag: OnceLock::new(), gzipped_etag: OnceLock::new() }
    }

    /// The bytes to send and their tag: gzipped when the file has them and the browser takes them.
    fn representation(&self, request: &Request) -> Representation<'_> {
        let version = || infra::digest::sha256_hex(self.body, 12);
        match self.gzipped.filter(|_| super::negotiation::accepts_gzip(request)) {
            Some(gzipped) => Representation {
                body: gzipped,
                gzipped: true,
                etag: self.gzipped_etag.get_or_init(|| format!("\"{}-gzip\"", version())),
            },
            None => Representation {
                body: self.body,
                gzipped: false,
                etag: self.etag.get_or_init(|| format!("\"{}\"", version())),
            },
        }
    }
}

struct Representation<'a> {
    body: &'static [u8],
    gzipped: bool,
    etag: &'a str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// A file of ours, from `web/FOLDER/`.
macro_rules! web_file {
    ($folder:literal, $name:literal, $type:expr) => {
        File::new(
            $name,
            $type,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../web/", $folder, "/", $name)),
            None,
        )
    };
}

/// A file of an npm package, from `web/node_modules/PATH`, served as `NAME`, with its gzipped copy
/// from `build.rs`.
macro_rules! node_module {
    ($name:literal, $type:expr, $path:literal) => {
        File::new(
            $name,
            $type,
            include_bytes!(concat!(env!("MYCLOTHES_NODE_MODULES"), "/", $path)),
            Some(include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".gz"))),
        )
    };
}

/// A page: its files, all served under its policy.
struct Page {
    policy: &'static str,
    files: &'static [File],
}

static STOREFRONT: Page = Page { policy: STOREFRONT_POLICY, files: &STOREFRONT_FILES };
static GRAPHIQL: Page = Page { policy: GRAPHIQL_POLICY, files: &GRAPHIQL_FILES };

static STOREFRONT_FILES: [File; 11] = [
    web_file!("storefront", "index.html", HTML),
    web_file!("storefront", "style.css", CSS),
    web_file!("storefront", "app.js", JS),
    web_file!("storefront", "api.js", JS),
    web_file!("storefront", "dom.js", JS),
    web_file!("storefront", "state.js", JS),
    web_file!("storefront", "catalog.js", JS),
    web_file!("storefront", "cart.js", JS),
    web_file!("storefront", "address.js", JS),
    web_file!("storefront", "account.js", JS),
    web_file!("storefront", "checkout.js", JS),
];

static GRAPHIQL_FILES: [File; 7] = [
    web_file!("graphiql", "index.html", HTML),
    web_file!("graphiql", "page.css", CSS),
    web_file!("graphiql", "start.js", JS),
    node_module!("graphiql.min.js", JS, "graphiql/graphiql.min.js"),
    node_module!("graphiql.min.css", CSS, "graphiql/graphiql.min.css"),
    node_module!("react.production.min.js", JS, "react/umd/react.production.min.js"),
    node_module!("react-dom.production.min.js", JS, "react-dom/umd/react-dom.production.min.js"),
];

/// The file `name` of `page`.
fn serve(page: &Page, name: &str, request: &Request) -> Response {
    let Some(file) = page.files.iter().find(|file| file.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let sent = file.representation(request);
    let mut response = Response::builder()
        .header("content-security-policy", page.policy)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CACHE_CONTROL, "no-cache")
        .header(header::ETAG, sent.etag);
    if file.gzipped.is_some() {
        response = response.header(header::VARY, "accept-encoding");
    }
    if is_cached(request, sent.etag) {
        return response.status(StatusCode::NOT_MODIFIED).finish();
    }
    if sent.gzipped {
        response = response.header(header::CONTENT_ENCODING, "gzip");
    }
    response.content_type(file.content_type).body(sent.body)
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
    serve(&STOREFRONT, "index.html", request)
}

#[handler]
pub fn storefront_file(Path(name): Path<String>, request: &Request) -> Response {
    serve(&STOREFRONT, &name, request)
}

#[handler]
pub fn graphiql(request: &Request) -> Response {
    serve(&GRAPHIQL, "index.html", request)
}

#[handler]
pub fn graphiql_file(Path(name): Path<String>, request: &Request) -> Response {
    serve(&GRAPHIQL, &name, request)
}
