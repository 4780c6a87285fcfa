//! What the shoppers saw: per step, latencies, errors (a failed request or a GraphQL error, with when
//! it happened) and refusals (userErrors).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Listing,
    Product,
    Search,
    AddToCart,
    Cart,
    Checkout,
    /// After a checkout refused for stock: the sold-out lines leave the cart, as a storefront does.
    RemoveFromCart,
    /// Before some checkouts, when the run has a discount code.
    ApplyDiscountCode,
}

#[derive(Default)]
pub struct StepStats {
    latencies_us: Vec<u64>,
    errors: u64,
    refused: u64,
    /// userError codes, counted.
    refusals: BTreeMap<String, u64>,
    /// Why requests failed (an HTTP status, a GraphQL error code, no answer), counted.
    failures: BTreeMap<String, u64>,
}

/// Shared by all shoppers of a run.
#[derive(Clone)]
pub struct Stats {
    started: Instant,
    /// The start in milliseconds since the Unix epoch, so that scripts can place their own events on
    /// the run's clock.
    started_at_ms: u64,
    steps: Arc<Mutex<BTreeMap<Step, StepStats>>>,
    /// When each error happened, in milliseconds since the start.
    error_times_ms: Arc<Mutex<Vec<u64>>>,
}

/// How one request went.
pub enum Outcome<'a> {
    Answered { user_error_codes: Vec<&'a str> },
    Failed(String),
}

impl Stats {
    pub fn new() -> Self {
        let since_epoch =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self {
            started: Instant::now(),
            started_at_ms: since_epoch.as_millis() as u64,
            steps: Arc::default(),
            error_times_ms: Arc::default(),
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn record(&self, step: Step, latency: Duration, outcome: Outcome<'_>) {
        let mut steps = self.steps.lock().expect("never poisoned");
        let stats = steps.entry(step).or_default();
        stats.latencies_us.push(latency.as_micros() as u64);
        match outcome {
            Outcome::Answered { user_error_codes } => {
                stats.refused += u64::from(!user_error_codes.is_empty());
                for code in user_error_codes {
                    *stats.refusals.entry(code.to_owned()).or_default() += 1;
                }
            }
            Outcome::Failed(reason) => {
                stats.errors += 1;
                *stats.failures.entry(reason).or_default() += 1;
                self.error_times_ms
                    .lock()
                    .expect("never poisoned")
                    .push(self.started.elapsed().as_millis() as u64);
            }
        }
    }

    pub fn requests_and_errors(&self) -> (u64, u64) {
        let steps = self.steps.lock().expect("never poisoned");
        steps.values().fold((0, 0), |(r, e), s| (r + s.latencies_us.len() as u64, e + s.errors))
    }

    pub fn error_times_ms(&self) -> Vec<u64> {
        self.error_times_ms.lock().expect("never poisoned").clone()
    }

    pub fn checkouts_refused(&self) -> u64 {
        self.steps.lock().expect("never poisoned").get(&Step::Checkout).map_or(0, |s| s.refused)
    }

    /// The checkouts' userError codes, counted, and the slowest checkout in milliseconds.
    pub fn checkout_refusals_and_slowest(&self) -> (BTreeMap<String, u64>, u64) {
        let steps = self.steps.lock().expect("never poisoned");
        let Some(checkouts) = steps.get(&Step::Checkout) else { return (BTreeMap::new(), 0) };
        let slowest = checkouts.latencies_us.iter().max().copied().unwrap_or(0) / 1000;
        (checkouts.refusals.clone(), slowest)
    }

    /// The table of steps, as Markdown.
    pub fn table(&self, elapsed: Duration) -> String {
        let seconds = elapsed.as_secs_f64();
        let steps = self.steps.lock().expect("never poisoned");
        let mut out =
            String::from("| step | requests | req/s | p50 ms | p90 ms | p99 ms | errors | refused |\n");
        out += "| --- | --- | --- | --- | --- | --- | --- | --- |\n";
        let mut total = 0;
        for (step, stats) in steps.iter() {
            let mut latencies = stats.latencies_us.clone();
            latencies.sort_unstable();
            let percentile = |p: f64| {
                let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
                latencies[index] as f64 / 1000.0
            };
            total += latencies.len();
            out += &format!(
                "| {step:?} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |\n",
                latencies.len(),
                latencies.len() as f64 / seconds,
                percentile(0.50),
                percentile(0.90),
                percentile(0.99),
                stats.errors,
                stats.refused,
            );
        }
        out += &format!("| all | {total} | {:.0} | | | | | |\n", total as f64 / seconds);
        for (step, stats) in steps.iter().filter(|(_, s)| !s.refusals.is_empty()) {
            out += &format!("refused at {step:?}: {:?}\n", stats.refusals);
        }
        for (step, stats) in steps.iter().filter(|(_, s)| !s.failures.is_empty()) {
            out += &format!("failed at {step:?}: {:?}\n", stats.failures);
        }
        out
    }

    pub fn summary(&self, extra: Value) -> Value {
        let (requests, errors) = self.requests_and_errors();
        let by_step: serde_json::Map<String, Value> = (self.steps.lock().expect("never poisoned").iter())
            .map(|(step, stats)| (format!("{step:?}"), json!(stats.errors)))
            .collect();
        let mut summary = json!({
            "requests": requests,
            "errors": errors,
            "errors_by_step": by_step,
            "error_times_ms": self.error_times_ms(),
            "started_at_ms": self.started_at_ms,
        });
        if let (Some(summary), Value::Object(extra)) = (summary.as_object_mut(), extra) {
            summary.extend(extra);
        }
        summary
    }
}
