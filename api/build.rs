//! GraphiQL's browser files come from the npm packages that `scripts/web` installs under
//! `web/node_modules` (versions pinned by `web/package-lock.json`); the server embeds them so that it
//! serves GraphiQL without the internet. This finds them, or stops the build saying how to get them,
//! and gzips each once (GraphiQL alone is 3.5 MB) into `OUT_DIR`, for browsers that accept it.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

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
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for file in VENDORED {
        let path = modules.join(file);
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().expect("a file name").to_string_lossy();
        std::fs::write(out.join(format!("{name}.gz")), gzip(&std::fs::read(&path).expect("readable")))
            .expect("OUT_DIR is writable");
    }
    let modules = modules.canonicalize().expect("web/node_modules exists");
    println!("cargo:rustc-env=MYCLOTHES_NODE_MODULES={}", modules.display());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}
