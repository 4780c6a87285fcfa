//! `loadgen`: virtual shoppers against a MyClothes server on this machine. Each shopper has its own
//! session and repeats a visit until the time is up: a listing page, a product page, a search, two
//! adds to the cart, a look at the cart and a checkout with the test card. At the end it prints, per
//! step, the requests, throughput, latency percentiles, errors (a failed request or a GraphQL error)
//! and refusals (userErrors such as OUT_OF_STOCK), then the checkouts per second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(name = "loadgen", about = "Virtual shoppers against a MyClothes server on this machine")]
struct Args {
    /// The server's base URL; only loopback addresses are allowed.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: url::Url,
    /// Shoppers at once.
    #[arg(long, default_value_t = 32)]
    shoppers: usize,
    /// How long to run.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    duration: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Listing,
    Product,
    Search,
    AddToCart,
    Cart,
    Checkout,
    /// After a checkout refused for stock: the sold-out lines leave the cart, as a storefront does.
    RemoveFromCart,
}

#[derive(Default)]
struct StepStats {
    latencies_us: Vec<u64>,
    errors: u64,
    refused: u64,
    /// userError codes, counted.
    refusals: BTreeMap<String, u64>,
}

type Stats = Arc<Mutex<BTreeMap<Step, StepStats>>>;

/// What shoppers pick from: product slugs and variant IDs in stock when the run starts.
struct Catalogue {
    slugs: Vec<String>,
    variants: Vec<String>,
}

const LISTING: &str = "query($sort: ProductSort) { products(first: 20, sort: $sort) { totalCount edges { node { id name slug priceFrom { amount } variants { size colour inStock } } } } }";
const PRODUCT: &str = "query($slug: String) { product(slug: $slug) { id name description priceFrom { amount currencyCode } brand { name } variants { id sku size colour price { amount } inStock } } }";
const SEARCH: &str = "query($search: String) { products(first: 20, filter: { search: $search }, sort: RELEVANCE) { totalCount edges { node { id name slug } } } }";
const ADD: &str = "mutation($variant: ID!) { addToCart(variantId: $variant, quantity: 1) { token cart { totalQuantity } userErrors { code } } }";
const CART: &str =
    "{ cart { lines { variant { sku } quantity lineTotal { amount } } totalQuantity subtotal { amount } } }";
const CHECKOUT: &str = "mutation($key: String!) { checkout(input: { email: \"shopper@example.com\", shippingAddress: { name: \"Load Test\", line1: \"1 Bench Street\", city: \"Paris\", postalCode: \"75001\", country: \"FR\" }, paymentToken: \"tok_visa\", idempotencyKey: $key }) { order { number } userErrors { code variantId } } }";
const REMOVE: &str = "mutation($variant: ID!) { removeFromCart(variantId: $variant) { cart { totalQuantity } userErrors { code } } }";
const SORTS: [&str; 4] = ["NEWEST", "PRICE_ASC", "PRICE_DESC", "NAME"];
const SEARCHES: [&str; 6] = ["shirt", "dress", "linen", "wool", "jacket", "cotton"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !matches!(args.url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("--url must be on this machine (127.0.0.1 or localhost), not {}", args.url);
    }
    let endpoint = args.url.join("graphql")?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let catalogue = Arc::new(catalogue(&client, &endpoint).await?);
    let stats: Stats = Arc::default();
    let deadline = Instant::now() + args.duration;
    let started = Instant::now();
    let shoppers = (0..args.shoppers).map(|_| {
        let shopper =
            Shopper { client: client.clone(), endpoint: endpoint.clone(), stats: stats.clone(), token: None };
        tokio::spawn(shopper.visit_until(deadline, catalogue.clone()))
    });
    futures::future::join_all(shoppers).await;
    report(&stats.lock().expect("never poisoned"), started.elapsed(), args.shoppers);
    Ok(())
}

async fn catalogue(client: &reqwest::Client, endpoint: &url::Url) -> anyhow::Result<Catalogue> {
    let query = "{ products(first: 100, filter: { inStock: true }, sort: PRICE_ASC) { edges { node { slug variants { id inStock } } } } }";
    let body: Value =
        client.post(endpoint.clone()).json(&json!({ "query": query })).send().await?.json().await?;
    let edges = body["data"]["products"]["edges"].as_array().context("the catalogue listing failed")?;
    let slugs = edges.iter().filter_map(|e| e["node"]["slug"].as_str().map(str::to_owned)).collect();
    let variants: Vec<String> = edges
        .iter()
        .flat_map(|e| e["node"]["variants"].as_array().into_iter().flatten())
        .filter(|v| v["inStock"] == true)
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect();
    if variants.is_empty() {
        bail!("nothing is in stock: seed the catalogue first (myclothes seed)");
    }
    Ok(Catalogue { slugs, variants })
}

struct Shopper {
    client: reqwest::Client,
    endpoint: url::Url,
    stats: Stats,
    token: Option<String>,
}

impl Shopper {
    async fn visit_until(mut self, deadline: Instant, catalogue: Arc<Catalogue>) {
        while Instant::now() < deadline {
            let (sort, search, slug, first, second) = {
                let mut rng = rand::rng();
                (
                    *SORTS.choose(&mut rng).expect("sorts"),
                    *SEARCHES.choose(&mut rng).expect("searches"),
                    catalogue.slugs.choose(&mut rng).cloned().unwrap_or_default(),
                    catalogue.variants.choose(&mut rng).cloned().expect("variants"),
                    catalogue.variants.choose(&mut rng).cloned().expect("variants"),
                )
            };
            self.call(Step::Listing, LISTING, json!({ "sort": sort })).await;
            self.call(Step::Product, PRODUCT, json!({ "slug": slug })).await;
            self.call(Step::Search, SEARCH, json!({ "search": search })).await;
            for variant in [first, second] {
                if let Some(answer) = self.call(Step::AddToCart, ADD, json!({ "variant": variant })).await
                    && let Some(token) = answer["data"]["addToCart"]["token"].as_str()
                {
                    self.token = Some(token.to_owned());
                }
            }
            self.call(Step::Cart, CART, json!({})).await;
            let key = uuid::Uuid::new_v4().to_string();
            let answer = self.call(Step::Checkout, CHECKOUT, json!({ "key": key })).await;
            let errors =
                answer.as_ref().and_then(|a| a["data"]["checkout"]["userErrors"].as_array().cloned());
            for sold_out in errors.unwrap_or_default().iter().filter_map(|e| e["variantId"].as_str()) {
                self.call(Step::RemoveFromCart, REMOVE, json!({ "variant": sold_out })).await;
            }
        }
    }

    /// Sends one request and records how it went; the answer, unless the request failed.
    async fn call(&self, step: Step, query: &str, variables: Value) -> Option<Value> {
        let mut request =
            self.client.post(self.endpoint.clone()).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) if response.status().is_success() => response.json::<Value>().await.ok(),
            _ => None,
        };
        let elapsed = started.elapsed().as_micros() as u64;
        let mut stats = self.stats.lock().expect("never poisoned");
        let step_stats = stats.entry(step).or_default();
        step_stats.latencies_us.push(elapsed);
        match &answer {
            Some(body) if body.get("errors").is_none() => {
                let codes: Vec<&str> = body["data"]
                    .as_object()
                    .into_iter()
                    .flat_map(|d| d.values())
                    .flat_map(|payload| payload["userErrors"].as_array().into_iter().flatten())
                    .filter_map(|error| error["code"].as_str())
                    .collect();
                step_stats.refused += u64::from(!codes.is_empty());
                for code in codes {
                    *step_stats.refusals.entry(code.to_owned()).or_default() += 1;
                }
            }
            _ => step_stats.errors += 1,
        }
        answer
    }
}

fn report(stats: &BTreeMap<Step, StepStats>, elapsed: Duration, shoppers: usize) {
    let seconds = elapsed.as_secs_f64();
    println!("{shoppers} shoppers for {seconds:.1} s");
    println!();
    println!("| step | requests | req/s | p50 ms | p90 ms | p99 ms | errors | refused |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut total = 0;
    for (step, stats) in stats {
        let mut latencies = stats.latencies_us.clone();
        latencies.sort_unstable();
        let percentile = |p: f64| {
            let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index] as f64 / 1000.0
        };
        total += latencies.len();
        println!(
            "| {step:?} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
            latencies.len(),
            latencies.len() as f64 / seconds,
            percentile(0.50),
            percentile(0.90),
            percentile(0.99),
            stats.errors,
            stats.refused,
        );
    }
    println!("| all | {total} | {:.0} | | | | | |", total as f64 / seconds);
    for (step, stats) in stats.iter().filter(|(_, s)| !s.refusals.is_empty()) {
        println!("refused at {step:?}: {:?}", stats.refusals);
    }
    if let Some(checkouts) = stats.get(&Step::Checkout) {
        let placed = checkouts.latencies_us.len() as u64 - checkouts.errors - checkouts.refused;
        println!();
        println!("checkouts placed: {placed} ({:.1}/s)", placed as f64 / seconds);
    }
}
