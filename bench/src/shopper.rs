//! One virtual shopper: its own session, its visits, and what it knows its cart holds and which orders
//! it placed, so that a run can check afterwards that no cart and no order was lost.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use crate::stats::{Outcome, Stats, Step};

/// What shoppers pick from: product slugs and variant IDs in stock when the run starts.
pub struct Catalogue {
    pub slugs: Vec<String>,
    pub variants: Vec<String>,
    /// A variant in stock of each product: one product per shopper when each buys its own.
    pub own_picks: Vec<String>,
    /// The shipping methods to France (where shoppers live), cheapest first.
    pub shipping_methods: Vec<String>,
}

const LISTING: &str = "query($sort: ProductSort) { products(first: 20, sort: $sort) { totalCount edges { node { id name slug priceFrom { amount } variants { size colour inStock } } } } }";
const PRODUCT: &str = "query($slug: String) { product(slug: $slug) { id name description priceFrom { amount currencyCode } brand { name } variants { id sku size colour price { amount } inStock } } }";
const SEARCH: &str = "query($search: String) { products(first: 20, filter: { search: $search }, sort: RELEVANCE) { totalCount edges { node { id name slug } } } }";
const ADD: &str = "mutation($variant: ID!) { addToCart(variantId: $variant, quantity: 1) { token cart { totalQuantity } userErrors { code } } }";
const CART: &str = "{ cart { lines { variant { id } quantity lineTotal { amount } } totalQuantity subtotal { amount } \
    availableShippingMethods(country: \"FR\") { method { id name } price { amount } } } }";
const CHECKOUT: &str = "mutation($key: String!, $email: String!, $card: String!, $shipping: ID) { checkout(input: { email: $email, shippingAddress: { name: \"Load Test\", line1: \"1 Bench Street\", city: \"Paris\", postalCode: \"75001\", country: \"FR\" }, shippingMethodId: $shipping, paymentToken: $card, idempotencyKey: $key }) { order { number } accessToken userErrors { code variantId } } }";
/// How often a shopper pays for the faster method rather than the cheapest.
const EXPRESS_SHARE: f64 = 0.2;
/// How often a shopper with a discount code applies it before checking out.
const DISCOUNT_SHARE: f64 = 0.3;
const APPLY_CODE: &str = "mutation($code: String!) { applyDiscountCode(code: $code) { cart { discount { amount { amount } } } userErrors { code } } }";
const REMOVE: &str = "mutation($variant: ID!) { removeFromCart(variantId: $variant) { cart { totalQuantity } userErrors { code } } }";
const ORDER: &str = "query($number: String!, $accessToken: String) { order(number: $number, accessToken: $accessToken) { number } }";
const SORTS: [&str; 4] = ["NEWEST", "PRICE_ASC", "PRICE_DESC", "NAME"];
const SEARCHES: [&str; 6] = ["shirt", "dress", "linen", "wool", "jacket", "cotton"];
/// A checkout whose answer was lost is sent again with its idempotency key, as a careful client does.
const CHECKOUT_ATTEMPTS: usize = 4;

#[derive(Clone)]
pub struct Buyer {
    pub email: String,
    /// The payment token checkouts send: `tok_visa` for the sandbox, `pm_card_visa` for Stripe.
    pub card: String,
    /// A discount code applied before some checkouts.
    pub discount_code: Option<String>,
}

pub struct Shopper {
    client: reqwest::Client,
    endpoint: url::Url,
    stats: Stats,
    /// Who the shopper is at checkout: the email the orders go to, and the payment token.
    buyer: Buyer,
    token: Option<String>,
    /// What the cart holds as far as the shopper knows: variant → quantity.
    expected: BTreeMap<String, u64>,
    /// Adds whose answers were lost: each may or may not have reached the cart.
    maybe_added: BTreeMap<String, u64>,
    /// Another change whose answer was lost: the cart can no longer be checked.
    uncertain: bool,
    /// The orders placed: number and access token, which shows the order to its buyer.
    placed: Vec<(String, String)>,
    /// The variables (and so the idempotency key) of a checkout that got no answer: sent again next,
    /// so that it is placed once, or found placed.
    pending_checkout: Option<Value>,
    /// The shipping methods to choose from, cheapest first.
    shipping_methods: Vec<String>,
}

/// What a shopper can tell after its visits.
#[derive(Debug, Default)]
pub struct Verdict {
    pub carts_checked: u64,
    pub carts_lost: u64,
    pub carts_unverifiable: u64,
    pub orders_placed: u64,
    pub orders_lost: u64,
    pub unanswered_checkouts: u64,
}

impl Shopper {
    pub fn new(
        client: reqwest::Client,
        endpoint: url::Url,
        stats: Stats,
        buyer: Buyer,
        shipping_methods: Vec<String>,
    ) -> Self {
        Self {
            client,
            endpoint,
            stats,
            buyer,
            token: None,
            expected: BTreeMap::new(),
            maybe_added: BTreeMap::new(),
            uncertain: false,
            placed: Vec::new(),
            pending_checkout: None,
            shipping_methods,
        }
    }

    pub async fn visit_until(mut self, deadline: Instant, catalogue: Arc<Catalogue>) -> Self {
        while Instant::now() < deadline {
            let (sort, search, slug, picks) = {
                let mut rng = rand::rng();
                (
                    *SORTS.choose(&mut rng).expect("sorts"),
                    *SEARCHES.choose(&mut rng).expect("searches"),
                    catalogue.slugs.choose(&mut rng).cloned().unwrap_or_default(),
                    [(); 2].map(|_| catalogue.variants.choose(&mut rng).cloned().expect("variants")),
                )
            };
            self.call(Step::Listing, LISTING, json!({ "sort": sort })).await;
            self.call(Step::Product, PRODUCT, json!({ "slug": slug })).await;
            self.call(Step::Search, SEARCH, json!({ "search": search })).await;
            for variant in picks {
                self.add(variant).await;
            }
            self.call(Step::Cart, CART, json!({})).await;
            self.check_out().await;
        }
        self
    }

    /// Buys one unit of `variant` after another until `deadline`.
    pub async fn buy_until(mut self, deadline: Instant, variant: String) -> Self {
        while Instant::now() < deadline {
            self.add(variant.clone()).await;
            self.check_out().await;
        }
        self
    }

    async fn add(&mut self, variant: String) {
        let answer = self.call(Step::AddToCart, ADD, json!({ "variant": variant })).await;
        let payload = answer.as_ref().map(|a| &a["data"]["addToCart"]);
        match payload {
            Some(payload) if payload.is_object() => {
                if let Some(token) = payload["token"].as_str() {
                    self.token = Some(token.to_owned());
                }
                if payload["userErrors"].as_array().is_some_and(Vec::is_empty) {
                    *self.expected.entry(variant).or_default() += 1;
                }
            }
            // Refused (Redis down) or lost on the way: either may have reached the cart, since Redis
            // stopped mid-call may have made the change and never answered.
            _ if self.token.is_some() => *self.maybe_added.entry(variant).or_default() += 1,
            _ => {}
        }
    }

    async fn check_out(&mut self) {
        // Every add refused as sold out leaves nothing to buy: the shop would answer `EMPTY_CART`.
        let nothing_to_buy = self.expected.is_empty() && self.maybe_added.is_empty() && !self.uncertain;
        if self.pending_checkout.is_none() && nothing_to_buy {
            return;
        }
        if self.pending_checkout.is_none() {
            self.maybe_apply_code().await;
        }
        let key = uuid::Uuid::new_v4().to_string();
        let shipping = self.shipping_method();
        let fresh = || json!({ "key": key, "email": self.buyer.email, "card": self.buyer.card, "shipping": shipping });
        let variables = self.pending_checkout.take().unwrap_or_else(fresh);
        for attempt in 0..CHECKOUT_ATTEMPTS {
            let answer = self.call(Step::Checkout, CHECKOUT, variables.clone()).await;
            let payload = answer.as_ref().map(|a| a["data"]["checkout"].clone()).filter(Value::is_object);
            let Some(payload) = payload else {
                tokio::time::sleep(Duration::from_millis(300 * (attempt as u64 + 1))).await;
                continue;
            };
            if let Some(number) = payload["order"]["number"].as_str() {
                let access_token = payload["accessToken"].as_str().unwrap_or_default();
                self.placed.push((number.to_owned(), access_token.to_owned()));
                self.expected.clear();
                self.maybe_added.clear();
            }
            let errors = payload["userErrors"].as_array().cloned().unwrap_or_default();
            for sold_out in errors.iter().filter_map(|e| e["variantId"].as_str()) {
                self.remove(sold_out.to_owned()).await;
            }
            return;
        }
        self.pending_checkout = Some(variables);
    }

    /// Some shoppers apply the run's discount code; one the cart may not use (below its minimum) is
    /// left out.
    async fn maybe_apply_code(&mut self) {
        let Some(code) = self.buyer.discount_code.clone() else { return };
        if rand::random_bool(DISCOUNT_SHARE) {
            self.call(Step::ApplyDiscountCode, APPLY_CODE, json!({ "code": code })).await;
        }
    }

    /// Most shoppers ship with the cheapest method, some with the next one up.
    fn shipping_method(&self) -> Option<String> {
        let faster = rand::random_bool(EXPRESS_SHARE) as usize;
        let methods = &self.shipping_methods;
        methods.get(faster).or(methods.first()).cloned()
    }

    async fn remove(&mut self, variant: String) {
        let answer = self.call(Step::RemoveFromCart, REMOVE, json!({ "variant": variant })).await;
        if answer.as_ref().is_some_and(|a| a["data"]["removeFromCart"].is_object()) {
            self.expected.remove(&variant);
        } else {
            self.uncertain = true;
        }
    }

    /// Settles a checkout left without an answer, then checks the cart against what the shopper
    /// knows it holds, and finds every order it placed.
    pub async fn verify(&mut self) -> Verdict {
        if self.pending_checkout.is_some() {
            self.check_out().await;
        }
        let unanswered = self.pending_checkout.is_some();
        let mut verdict = Verdict {
            orders_placed: self.placed.len() as u64,
            unanswered_checkouts: u64::from(unanswered),
            ..Verdict::default()
        };
        if self.token.is_some() && !self.uncertain && !unanswered {
            verdict.carts_checked = 1;
            match self.post(CART, json!({})).await {
                Some(answer) if answer["data"]["cart"].is_object() => {
                    let found: BTreeMap<String, u64> = answer["data"]["cart"]["lines"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|l| {
                            Some((l["variant"]["id"].as_str()?.to_owned(), l["quantity"].as_u64()?))
                        })
                        .collect();
                    verdict.carts_lost = u64::from(!self.holds(&found));
                }
                _ => verdict.carts_lost = 1,
            }
        } else if self.token.is_some() {
            verdict.carts_unverifiable = 1;
        }
        for (number, access_token) in &self.placed {
            let answer = self.post(ORDER, json!({ "number": number, "accessToken": access_token })).await;
            let found =
                answer.as_ref().is_some_and(|a| a["data"]["order"]["number"].as_str() == Some(number));
            if !found {
                eprintln!("order {number} not found: {}", answer.unwrap_or_default());
                verdict.orders_lost += 1;
            }
        }
        verdict
    }

    /// Whether `found` is what the cart should hold: every known line, plus at most the adds whose
    /// answers were lost.
    fn holds(&self, found: &BTreeMap<String, u64>) -> bool {
        let mut variants = self.expected.keys().chain(self.maybe_added.keys()).chain(found.keys());
        variants.all(|variant| {
            let count = |map: &BTreeMap<String, u64>| map.get(variant).copied().unwrap_or(0);
            let (expected, maybe) = (count(&self.expected), count(&self.maybe_added));
            (expected..=expected + maybe).contains(&count(found))
        })
    }

    /// Sends one request and records how it went; the answer, unless the request failed.
    async fn call(&self, step: Step, query: &str, variables: Value) -> Option<Value> {
        let started = Instant::now();
        let answer = self.send(query, variables).await;
        let outcome = match &answer {
            Err(reason) => Outcome::Failed(reason.clone()),
            Ok(body) if body.get("errors").is_none() => Outcome::Answered {
                user_error_codes: body["data"]
                    .as_object()
                    .into_iter()
                    .flat_map(|d| d.values())
                    .flat_map(|payload| payload["userErrors"].as_array().into_iter().flatten())
                    .filter_map(|error| error["code"].as_str())
                    .collect(),
            },
            Ok(body) => Outcome::Failed(code_of(Some(body)).unwrap_or("GraphQL error").to_owned()),
        };
        self.stats.record(step, started.elapsed(), outcome);
        answer.ok()
    }

    async fn post(&self, query: &str, variables: Value) -> Option<Value> {
        self.send(query, variables).await.ok()
    }

    /// The answer to one request, or why there was none.
    async fn send(&self, query: &str, variables: Value) -> Result<Value, String> {
        let mut request =
            self.client.post(self.endpoint.clone()).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                response.json::<Value>().await.map_err(|_| "unreadable body".to_owned())
            }
            Ok(response) => Err(format!("HTTP {}", response.status().as_u16())),
            Err(err) if err.is_timeout() => Err("timeout".to_owned()),
            Err(_) => Err("no answer".to_owned()),
        }
    }
}

fn code_of(answer: Option<&Value>) -> Option<&str> {
    answer?["errors"][0]["extensions"]["code"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shopper(expected: &[(&str, u64)], maybe_added: &[(&str, u64)]) -> Shopper {
        let map = |lines: &[(&str, u64)]| lines.iter().map(|(v, q)| (v.to_string(), *q)).collect();
        let endpoint = url::Url::parse("http://127.0.0.1:8000/graphql").unwrap();
        let mut shopper = Shopper::new(
            reqwest::Client::new(),
            endpoint,
            Stats::new(),
            Buyer { email: "a@example.com".into(), card: "tok_visa".into(), discount_code: None },
            vec!["standard".into()],
        );
        (shopper.expected, shopper.maybe_added) = (map(expected), map(maybe_added));
        shopper
    }

    fn cart(lines: &[(&str, u64)]) -> BTreeMap<String, u64> {
        lines.iter().map(|(v, q)| (v.to_string(), *q)).collect()
    }

    #[test]
    fn a_cart_holds_what_was_added_give_or_take_the_adds_whose_answers_were_lost() {
        let shopper = shopper(&[("a", 2)], &[("b", 1)]);
        assert!(shopper.holds(&cart(&[("a", 2)])));
        assert!(shopper.holds(&cart(&[("a", 2), ("b", 1)])));
        assert!(!shopper.holds(&cart(&[("a", 1)])), "a line lost a unit");
        assert!(!shopper.holds(&cart(&[("a", 2), ("b", 2)])), "more than was ever sent");
        assert!(!shopper.holds(&cart(&[("a", 2), ("c", 1)])), "a line nobody added");
    }
}
