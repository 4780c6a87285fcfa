//! Metrics in the Prometheus text format on `/metrics`. Requests are counted and timed by GraphQL
//! operation name and outcome as they happen; what the services keep count of themselves (cache,
//! database reads, pools, replica lag, the events the worker tier has not handled, dead ones
//! included) is read when Prometheus scrapes.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use infra::cache::CacheKind;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::handler;
use poem::web::Data;

use crate::services::Services;

/// One recorder for the process: the `metrics` macros write to a global one.
static HANDLE: LazyLock<PrometheusHandle> = LazyLock::new(|| {
    let seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
    let recorder =
        PrometheusBuilder::new().set_buckets(&seconds).expect("the buckets are not empty").build_recorder();
    let handle = recorder.handle();
    // Only fails when a recorder is installed already; this is the only place that installs one.
    let _ = metrics::set_global_recorder(recorder);
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        })
        .expect("a thread starts");
    handle
});

/// The recorder keeps each histogram sample until they are folded into their buckets: at a scrape,
/// or by this upkeep. Without it, an instance nobody scrapes grows by every request's samples.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Operation names are the clients' to choose: beyond this many, new ones count as `other`.
const MAX_OPERATION_NAMES: usize = 200;
static OPERATION_NAMES: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// Starts recording; call once at start-up.
pub fn install() {
    LazyLock::force(&HANDLE);
}

/// Counts and times one GraphQL operation. `outcome` is `ok` or the code of its first error.
pub fn record_operation(operation: Option<&str>, outcome: &str, elapsed: Duration) {
    let operation = operation_label(operation);
    counter!("graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome.to_owned())
        .increment(1);
    histogram!("graphql_request_duration_seconds", "operation" => operation).record(elapsed);
}

pub fn record_cart_change(operation: &'static str) {
    counter!("cart_changes_total", "operation" => operation).increment(1);
}

/// A checkout: the status of the order it answered with (`PLACED`; `PENDING_PAYMENT` while the
/// provider has not answered), or the code of the reason it was refused.
pub fn record_checkout(outcome: String) {
    counter!("checkouts_total", "outcome" => outcome).increment(1);
}

pub fn record_error(code: &str) {
    counter!("graphql_errors_total", "code" => code.to_owned()).increment(1);
}

fn operation_label(name: Option<&str>) -> String {
    let Some(name) = name else { return "anonymous".to_owned() };
    let plain =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let mut known = OPERATION_NAMES.lock().expect("never poisoned");
    if plain && (known.contains(name) || known.len() < MAX_OPERATION_NAMES) {
        known.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

#[handler]
pub async fn scrape(services: Data<&Arc<Services>>) -> String {
    for kind in CacheKind::ALL {
        let cache = services.cache.stats_of(kind);
        let redis_hits = cache.hits - cache.near_hits;
        let results = [
            ("near_hit", cache.near_hits),
            ("hit", redis_hits),
            ("miss", cache.misses),
            ("bypass", cache.bypassed),
        ];
        for (result, count) in results {
            counter!("cache_requests_total", "kind" => kind.name(), "result" => result).absolute(count);
        }
    }
    for target in services.db.stats() {
        counter!("db_reads_total", "server" => target.name.clone()).absolute(target.reads_served);
        counter!("db_statements_total", "server" => target.name).absolute(target.statements);
    }
    for (server, open, idle) in services.db.pool_usage() {
        gauge!("db_pool_connections", "server" => server.clone(), "state" => "busy")
            .set(open.saturating_sub(idle));
        gauge!("db_pool_connections", "server" => server, "state" => "idle").set(idle);
    }
    for (replica, lag) in services.db.replica_lag_bytes().await {
        gauge!("db_replica_lag_bytes", "replica" => replica).set(lag.unwrap_or(f64::NAN));
    }
    // Unknown while the primary does not answer.
    let backlog = infra::outbox::backlog(&services.db).await.ok();
    for (state, events) in [("pending", backlog.map(|b| b.pending)), ("dead", backlog.map(|b| b.dead))] {
        gauge!("outbox_events", "state" => state).set(events.map_or(f64::NAN, |n| n as f64));
    }
    counter!("log_lines_dropped_total").absolute(crate::telemetry::dropped_lines() as u64);
    HANDLE.render()
}

#[cfg(test)]
mod tests {
    #[test]
    fn operation_names_are_labels_only_when_plain() {
        assert_eq!(super::operation_label(None), "anonymous");
        assert_eq!(super::operation_label(Some("ProductPage")), "ProductPage");
        assert_eq!(super::operation_label(Some("drop table")), "other");
    }
}
