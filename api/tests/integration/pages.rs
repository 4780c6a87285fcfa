//! The storefront and GraphiQL pages: every file they load is served by the api itself, under a
//! Content-Security-Policy that admits this origin only, and revalidated by its ETag.

use crate::support::TestApp;

/// The values of `attribute="…"` in an HTML page (enough for the pages we ship, which we write).
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let marker = format!(" {attribute}=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            let value = &html[at + marker.len()..];
            &value[..value.find('"').unwrap()]
        })
        .collect()
}

/// The modules a JavaScript module imports from its own folder (`from "./x.js"`).
fn relative_imports(module: &str) -> Vec<String> {
    module
        .match_indices("from \"./")
        .map(|(at, _)| module[at + 8..].split('"').next().unwrap().to_owned())
        .collect()
}

/// Checks that the page's policy lets it load scripts and styles from, and talk to, its own origin
/// only: nothing inline, nothing evaluated, no other host.
fn assert_own_origin_policy(page: &reqwest::Response) {
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(directive(policy, "default-src"), "default-src 'none'");
    assert_eq!(directive(policy, "script-src"), "script-src 'self'");
    assert_eq!(directive(policy, "style-src"), "style-src 'self'");
    assert_eq!(directive(policy, "connect-src"), "connect-src 'self'");
}

/// The directive `name` of a policy, such as `script-src 'self'`.
fn directive<'a>(policy: &'a str, name: &str) -> &'a str {
    policy
        .split(';')
        .map(str::trim)
        .find(|part| part.split(' ').next() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {policy}"))
}

/// Fetches `path` and checks that it is served whole with `content_type`; returns its text.
async fn served(app: &TestApp, path: &str, content_type: &str) -> String {
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with(content_type), "{path}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    let body = response.text().await.unwrap();
    assert!(!body.is_empty(), "{path} is empty");
    body
}

#[tokio::test]
async fn the_storefront_loads_only_its_own_scripts_and_styles_and_every_module_it_imports() {
    let app = TestApp::spawn().await;

    let page = app.get("/").await;

    assert_eq!(page.status(), 200);
    assert_own_origin_policy(&page);
    let html = page.text().await.unwrap();
    let mut modules: Vec<String> = attribute_values(&html, "src").into_iter().map(str::to_owned).collect();
    assert_eq!(modules, ["/storefront/app.js"]);
    for stylesheet in attribute_values(&html, "href").into_iter().filter(|href| href.ends_with(".css")) {
        served(&app, stylesheet, "text/css").await;
    }
    let mut loaded = Vec::new();
    while let Some(module) = modules.pop() {
        if loaded.contains(&module) {
            continue;
        }
        let code = served(&app, &module, "text/javascript").await;
        modules.extend(relative_imports(&code).into_iter().map(|file| format!("/storefront/{file}")));
        loaded.push(module);
    }
    assert!(loaded.len() >= 5, "the storefront's modules: {loaded:?}");
}

#[tokio::test]
async fn graphiql_comes_whole_from_this_server_under_an_own_origin_policy() {
    let app = TestApp::spawn().await;

    let page = app.get("/graphiql").await;

    assert_eq!(page.status(), 200);
    assert_own_origin_policy(&page);
    let html = page.text().await.unwrap();
    let scripts = attribute_values(&html, "src");
    let stylesheets: Vec<&str> =
        attribute_values(&html, "href").into_iter().filter(|href| href.ends_with(".css")).collect();
    assert_eq!(scripts.len(), 4, "React, ReactDOM, GraphiQL and the page's own start: {scripts:?}");
    for script in scripts {
        assert!(script.starts_with("/graphiql/"), "{script} is not this server's");
        served(&app, script, "text/javascript").await;
    }
    for stylesheet in stylesheets {
        assert!(stylesheet.starts_with("/graphiql/"), "{stylesheet} is not this server's");
        served(&app, stylesheet, "text/css").await;
    }
    let start = served(&app, "/graphiql/start.js", "text/javascript").await;
    assert!(start.contains("url: \"/graphql\""), "GraphiQL queries this server");
    assert!(start.contains("defaultQuery"), "an example query is filled in");
}

#[tokio::test]
async fn a_file_the_browser_has_is_not_sent_again() {
    let app = TestApp::spawn().await;
    let first = app.get("/storefront/app.js").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.headers()["cache-control"], "no-cache");

    let revalidated = app
        .client
        .get(format!("{}/storefront/app.js", app.address))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    let changed = app
        .client
        .get(format!("{}/storefront/app.js", app.address))
        .header("if-none-match", "\"an-older-version\"")
        .send()
        .await
        .unwrap();

    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"].to_str().unwrap(), etag);
    assert!(revalidated.bytes().await.unwrap().is_empty());
    assert_eq!(changed.status(), 200);
}

#[tokio::test]
async fn only_the_pages_files_are_served() {
    let app = TestApp::spawn().await;

    for path in [
        "/storefront/missing.js",
        "/graphiql/missing.js",
        "/storefront/..%2FCargo.toml",
        "/graphiql/..%2F..%2Fbuild.rs",
    ] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_graphiql_bundle_goes_gzipped_to_browsers_that_take_it() {
    let app = TestApp::spawn().await;
    let get = |accept_encoding: &'static str| {
        app.client
            .get(format!("{}/graphiql/graphiql.min.js", app.address))
            .header("accept-encoding", accept_encoding)
            .send()
    };

    let plain = get("identity").await.unwrap();
    let gzipped = get("gzip, deflate, br").await.unwrap();
    let refused = get("gzip;q=0, br").await.unwrap();

    for response in [&plain, &gzipped, &refused] {
        assert_eq!(response.headers()["vary"], "accept-encoding");
    }
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(refused.headers().get("content-encoding").is_none());
    let (plain_tag, gzipped_tag) = (plain.headers()["etag"].clone(), gzipped.headers()["etag"].clone());
    assert_ne!(plain_tag, gzipped_tag, "two representations, two tags");
    let plain = plain.bytes().await.unwrap();
    let gzipped = gzipped.bytes().await.unwrap();
    assert!(gzipped.len() * 3 < plain.len(), "{} bytes gzipped from {}", gzipped.len(), plain.len());
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, plain);
}
