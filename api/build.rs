//! GraphiQL's browser files come from the npm packages that `scripts/web` installs under
//! `web/node_modules` (versions pinned by `web/package-lock.json`); the server embeds them so that it
//! serves GraphiQL without the internet. This finds them, or stops the build saying how to get them.

use std::path::Path;

/// The files `routes::pages` embeds, under `web/node_modules`.
const VENDORED: [&str; 4] = [
    "graphiql/graphiql.min.js",
    "graphiql/graphiql.min.css",
    "react/umd/react.production.min.js",
    "react-dom/umd/react-dom.production.min.js",
];

fn main() {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/node_modules");
    let missing: Vec<_> = VENDORED.iter().filter(|file| !modules.join(file).is_file()).collect();
    if !missing.is_empty() {
        panic!(
            "GraphiQL's npm files are missing ({missing:?} under {}): run scripts/web, which installs them \
             with `npm ci` in web/",
            modules.display()
        );
    }
    for file in VENDORED {
        println!("cargo:rerun-if-changed={}", modules.join(file).display());
    }
    let modules = modules.canonicalize().expect("web/node_modules exists");
    println!("cargo:rustc-env=MYCLOTHES_NODE_MODULES={}", modules.display());
}
