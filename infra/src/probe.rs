//! Health probes of the services the api depends on, for `/health/ready`.

use std::future::Future;
use std::time::{Duration, Instant};

/// The outcome of one probe of one dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub status: ProbeStatus,
    pub latency: Duration,
    /// Why the probe failed, for operators; never contains credentials.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStatus {
    Ok,
    /// Answered, but slower than half the timeout.
    Degraded,
    Down,
}

impl Probe {
    /// Runs `check` with a `timeout`, timing it.
    pub async fn run<T, E: std::fmt::Display>(
        timeout: Duration,
        check: impl Future<Output = Result<T, E>>,
    ) -> Self {
        let started = Instant::now();
        let outcome = tokio::time::timeout(timeout, check).await;
        let latency = started.elapsed();
        match outcome {
            Ok(Ok(_)) if latency > timeout / 2 => {
                Self { status: ProbeStatus::Degraded, latency, error: None }
            }
            Ok(Ok(_)) => Self { status: ProbeStatus::Ok, latency, error: None },
            Ok(Err(err)) => Self { status: ProbeStatus::Down, latency, error: Some(err.to_string()) },
            Err(_) => Self {
                status: ProbeStatus::Down,
                latency,
                error: Some(format!("no answer within {timeout:?}")),
            },
        }
    }
}
