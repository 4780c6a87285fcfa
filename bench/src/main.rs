//! `loadgen`: virtual shoppers against a MyClothes server on this machine. Each shopper has its own
//! session and repeats a visit until the time is up: a listing page, a product page, a search, two
//! adds to the cart, a look at the cart and a checkout with the test card. At the end it prints, per
//! step, the requests, throughput, latency percentiles, errors (a failed request or a GraphQL error)
//! and refusals (userErrors such as OUT_OF_STOCK), then the checkouts per second. Then each shopper
//! checks its cart against what it knows it holds, and finds every order it placed: lost carts and
//! lost orders are counted (with `--summary`, also as one JSON line for the drills, with the whole
//! machine's busy time while the shoppers shopped).
//!
//! With `--buy-only`, each shopper buys one unit of a product of its own, again and again (an add to
//! the cart, then a checkout), so that the run measures checkouts that contend for nothing but the
//! server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

mod machine;
mod shopper;
mod stats;

use shopper::{Buyer, Catalogue, Shopper, Verdict};
use stats::Stats;

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
    /// The email the orders are placed with (a drill uses one of its own to count them).
    #[arg(long, default_value = "shopper@example.com")]
    email: String,
    /// The payment token of every checkout: `tok_visa` for the sandbox provider, `pm_card_visa` for
    /// Stripe.
    #[arg(long, default_value = "tok_visa")]
    card: String,
    /// Also print one line `SUMMARY {json}` for scripts.
    #[arg(long)]
    summary: bool,
    /// Each shopper only buys a product of its own, again and again.
    #[arg(long)]
    buy_only: bool,
    /// A discount code some shoppers apply before checking out; one without a per-customer limit,
    /// since every shopper orders with `--email`.
    #[arg(long)]
    discount_code: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !matches!(args.url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!("--url must be on this machine (127.0.0.1 or localhost), not {}", args.url);
    }
    let endpoint = args.url.join("graphql")?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let catalogue = Arc::new(catalogue(&client, &endpoint).await?);
    if args.buy_only && catalogue.own_picks.len() < args.shoppers {
        bail!("--buy-only needs a product in stock per shopper; {} are", catalogue.own_picks.len());
    }
    let busy_before = machine::busy_ticks();
    let stats = Stats::new();
    let deadline = Instant::now() + args.duration;
    let shoppers = (0..args.shoppers).map(|i| {
        let buyer = Buyer {
            email: args.email.clone(),
            card: args.card.clone(),
            discount_code: args.discount_code.clone(),
        };
        let methods = catalogue.shipping_methods.clone();
        let shopper = Shopper::new(client.clone(), endpoint.clone(), stats.clone(), buyer, methods);
        if args.buy_only {
            tokio::spawn(shopper.buy_until(deadline, catalogue.own_picks[i].clone()))
        } else {
            tokio::spawn(shopper.visit_until(deadline, catalogue.clone()))
        }
    });
    let mut shoppers: Vec<Shopper> =
        futures::future::join_all(shoppers).await.into_iter().collect::<Result<_, _>>()?;
    let elapsed = stats.elapsed();
    // Up to here: the checks that follow (a look-up of every order placed) are not the run's work.
    let busy_ticks = busy_before.zip(machine::busy_ticks()).map(|(before, after)| after - before);
    let verdicts = futures::future::join_all(shoppers.iter_mut().map(Shopper::verify)).await;
    let verdict = verdicts.into_iter().fold(Verdict::default(), |total, v| Verdict {
        carts_checked: total.carts_checked + v.carts_checked,
        carts_lost: total.carts_lost + v.carts_lost,
        carts_unverifiable: total.carts_unverifiable + v.carts_unverifiable,
        orders_placed: total.orders_placed + v.orders_placed,
        orders_lost: total.orders_lost + v.orders_lost,
        unanswered_checkouts: total.unanswered_checkouts + v.unanswered_checkouts,
    });

    println!("{} shoppers for {:.1} s", args.shoppers, elapsed.as_secs_f64());
    println!();
    print!("{}", stats.table(elapsed));
    println!();
    println!(
        "checkouts placed: {} ({:.1}/s); orders lost: {}; checkouts never answered: {}",
        verdict.orders_placed,
        verdict.orders_placed as f64 / elapsed.as_secs_f64(),
        verdict.orders_lost,
        verdict.unanswered_checkouts,
    );
    println!(
        "carts checked: {}, lost: {}, not checkable (a change's answer was lost): {}",
        verdict.carts_checked, verdict.carts_lost, verdict.carts_unverifiable,
    );
    if args.summary {
        let (refusals, slowest_checkout_ms) = stats.checkout_refusals_and_slowest();
        let extra = json!({
            "seconds": elapsed.as_secs_f64(),
            "machine_busy_ticks": busy_ticks,
            "orders_placed": verdict.orders_placed,
            "orders_lost": verdict.orders_lost,
            "unanswered_checkouts": verdict.unanswered_checkouts,
            "checkouts_refused": stats.checkouts_refused(),
            "checkout_refusals": refusals,
            "slowest_checkout_ms": slowest_checkout_ms,
            "carts_checked": verdict.carts_checked,
            "carts_lost": verdict.carts_lost,
            "carts_unverifiable": verdict.carts_unverifiable,
        });
        println!("SUMMARY {}", stats.summary(extra));
    }
    Ok(())
}

async fn catalogue(client: &reqwest::Client, endpoint: &url::Url) -> anyhow::Result<Catalogue> {
    let query = "{ products(first: 100, filter: { inStock: true }, sort: PRICE_ASC) { edges { node { slug variants { id inStock } } } } }";
    let body: Value =
        client.post(endpoint.clone()).json(&json!({ "query": query })).send().await?.json().await?;
    let edges = body["data"]["products"]["edges"].as_array().context("the catalogue listing failed")?;
    let slugs = edges.iter().filter_map(|e| e["node"]["slug"].as_str().map(str::to_owned)).collect();
    let in_stock = |edge: &Value| -> Vec<String> {
        let variants = edge["node"]["variants"].as_array().into_iter().flatten();
        variants
            .filter(|v| v["inStock"] == true)
            .filter_map(|v| v["id"].as_str().map(str::to_owned))
            .collect()
    };
    let variants: Vec<String> = edges.iter().flat_map(in_stock).collect();
    if variants.is_empty() {
        bail!("nothing is in stock: seed the catalogue first (myclothes seed)");
    }
    let own_picks = edges.iter().filter_map(|edge| in_stock(edge).into_iter().next()).collect();
    Ok(Catalogue { slugs, variants, own_picks, shipping_methods: shipping_methods(client, endpoint).await? })
}

/// The shipping methods to France, where the shoppers live, cheapest first.
async fn shipping_methods(client: &reqwest::Client, endpoint: &url::Url) -> anyhow::Result<Vec<String>> {
    let query = r#"{ cart { availableShippingMethods(country: "FR") { method { id } } } }"#;
    let body: Value =
        client.post(endpoint.clone()).json(&json!({ "query": query })).send().await?.json().await?;
    let methods =
        body["data"]["cart"]["availableShippingMethods"].as_array().context("the shipping methods")?;
    let ids: Vec<String> =
        methods.iter().filter_map(|m| m["method"]["id"].as_str().map(str::to_owned)).collect();
    if ids.is_empty() {
        bail!("the shop does not ship to France, where the shoppers live");
    }
    Ok(ids)
}
