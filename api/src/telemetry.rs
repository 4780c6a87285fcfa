//! Logging: structured JSON in production, readable text in development, filtered by `MYCLOTHES_LOG`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Settings};

pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.log_format() {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}
