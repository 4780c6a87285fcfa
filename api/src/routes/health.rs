//! `/health/live` (the process answers) and `/health/ready` (it can serve: each dependency probed,
//! 200 when at least one database answers, 503 when none does or the instance is draining; a
//! former primary writable again beside the real one, a split brain, makes it `degraded`). The
//! public listener answers readiness with its status alone; the admin listener adds every check, with
//! the servers' addresses and the probes' errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use infra::db::TargetRole;
use infra::probe::{Probe, ProbeStatus};
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler};
use serde::Serialize;

use crate::services::Services;

/// Whether this instance still wants traffic; cleared once on shutdown.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn start_draining(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadyReport {
    status: &'static str,
    checks: Vec<Check>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    name: String,
    role: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    status: &'static str,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Check {
    fn new(name: String, role: &'static str, address: Option<String>, probe: Probe) -> Self {
        Self {
            name,
            role,
            address,
            status: match probe.status {
                ProbeStatus::Ok => "ok",
                ProbeStatus::Degraded => "degraded",
                ProbeStatus::Down => "down",
            },
            latency_ms: (probe.latency.as_secs_f64() * 1000.0 * 100.0).round() / 100.0,
            error: probe.error,
        }
    }

    fn is_database(&self) -> bool {
        self.role != "cache"
    }
}

#[handler]
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness for the load balancer: the status alone.
#[handler]
pub async fn ready(services: Data<&Arc<Services>>, readiness: Data<&Readiness>) -> Response {
    let (code, report) = report(&services, &readiness).await;
    Json(serde_json::json!({ "status": report.status })).with_status(code).into_response()
}

/// Readiness for operators: the status and every check.
#[handler]
pub async fn ready_report(services: Data<&Arc<Services>>, readiness: Data<&Readiness>) -> Response {
    let (code, report) = report(&services, &readiness).await;
    Json(report).with_status(code).into_response()
}

async fn report(services: &Services, readiness: &Readiness) -> (StatusCode, ReadyReport) {
    let own_cache = (!Arc::ptr_eq(&services.cache_redis, &services.redis)).then_some(&services.cache_redis);
    let cache_probe = futures::future::OptionFuture::from(own_cache.map(|cache| cache.probe()));
    let (databases, redis, cache) = tokio::join!(services.db.probe(), services.redis.probe(), cache_probe);
    let mut checks: Vec<Check> = databases
        .into_iter()
        .map(|(target, probe)| {
            let role = match target.role {
                TargetRole::Primary => "primary",
                TargetRole::Replica => "replica",
            };
            Check::new(target.name, role, Some(target.address), probe)
        })
        .collect();
    let stale = services.db.stale_primaries();
    for check in checks.iter_mut().filter(|check| stale.contains(&check.name)) {
        check.status = "degraded";
        check.error =
            Some("split brain: writable, but behind the primary's timeline; it gets no writes".to_owned());
    }
    checks.push(Check::new("redis".to_owned(), "cache", None, redis));
    checks.extend(cache.map(|probe| Check::new("cache-redis".to_owned(), "cache", None, probe)));

    let a_database_answers = checks.iter().any(|c| c.is_database() && c.status != "down");
    let (code, status) = if readiness.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else if !a_database_answers {
        (StatusCode::SERVICE_UNAVAILABLE, "down")
    } else if checks.iter().any(|c| c.status != "ok") {
        (StatusCode::OK, "degraded")
    } else {
        (StatusCode::OK, "ok")
    };
    (code, ReadyReport { status, checks })
}
