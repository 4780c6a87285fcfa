//! Random and malformed GraphQL documents, variables and bodies, from a fixed seed so a failure can be
//! replayed: the server never answers 5xx, and keeps answering.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::ServerProcess;

const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "!",
    "=",
    "@",
    "...",
    "|",
    "&",
    ",",
    "query",
    "mutation",
    "subscription",
    "fragment",
    "on",
    "shop",
    "name",
    "products",
    "product",
    "first",
    "after",
    "last",
    "filter",
    "sort",
    "edges",
    "node",
    "id",
    "slug",
    "variants",
    "cart",
    "lines",
    "addToCart",
    "variantId",
    "quantity",
    "checkout",
    "input",
    "login",
    "register",
    "me",
    "orders",
    "order",
    "number",
    "categories",
    "children",
    "__schema",
    "__type",
    "__typename",
    "PRICE_ASC",
    "true",
    "null",
    "0",
    "-1",
    "99999999999999999999",
    "1.5e308",
    "\"\"",
    "\"x\"",
    "\"\\u0000\"",
    "\"é漢\"",
    "#comment\n",
    "\n",
    " ",
    "a:",
    "$v",
    "$v: Int",
    "ID!",
];

fn document(rng: &mut ChaCha8Rng) -> String {
    let length = rng.random_range(0..80);
    (0..length).map(|_| *TOKENS.choose(rng).unwrap()).collect::<Vec<_>>().join(" ")
}

fn value(rng: &mut ChaCha8Rng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e300),
        4 => json!(TOKENS.choose(rng).unwrap()),
        5 => Value::Array((0..rng.random_range(0..4)).map(|_| value(rng, depth + 1)).collect()),
        _ => {
            let fields = (0..rng.random_range(0..4))
                .map(|_| (TOKENS.choose(rng).unwrap().to_string(), value(rng, depth + 1)));
            Value::Object(fields.collect())
        }
    }
}

/// A request body: mostly GraphQL requests with random parts, sometimes not even JSON.
fn body(rng: &mut ChaCha8Rng) -> String {
    match rng.random_range(0..10) {
        0 => (0..rng.random_range(0..200)).map(|_| rng.random::<char>()).collect(),
        1 => json!([{ "query": document(rng) }, { "query": document(rng), "variables": value(rng, 0) }])
            .to_string(),
        2 => value(rng, 0).to_string(),
        _ => {
            let mut request = json!({ "query": document(rng) });
            if rng.random() {
                request["variables"] = value(rng, 0);
            }
            if rng.random() {
                request["operationName"] = value(rng, 2);
            }
            if rng.random_ratio(1, 5) {
                request["extensions"] = json!({ "persistedQuery": value(rng, 1) });
            }
            request.to_string()
        }
    }
}

#[tokio::test]
async fn random_and_malformed_requests_never_get_a_5xx_or_an_internal_error() {
    let app = TestApp::spawn().await;
    let server = ServerProcess::start(&app.db, &[]).await;
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/graphql", server.port);
    let mut rng = ChaCha8Rng::seed_from_u64(20261122);

    for round in 0..1500 {
        let body = body(&mut rng);
        let response = if rng.random_ratio(1, 4) {
            client.get(&url).query(&[("query", body.as_str())]).send().await
        } else {
            client.post(&url).header("content-type", "application/json").body(body.clone()).send().await
        };
        let response = response.unwrap_or_else(|e| panic!("round {round}: no answer to {body:?}: {e}"));
        let status = response.status();
        assert!(status.as_u16() < 500, "round {round}: {status} for {body:?}");
        let answer = response.text().await.unwrap();
        assert!(!answer.contains("INTERNAL_SERVER_ERROR"), "round {round}: {answer} for {body:?}");
    }

    let alive = server.post_graphql(None, "{ shop { name } }").await;
    assert_eq!(alive["data"]["shop"]["name"], "MyClothes");
}

/// Text PostgreSQL cannot hold (the NUL character) and numbers that do not fit their type are the
/// client's mistake wherever they stand: `BAD_USER_INPUT`, naming the argument, never an internal error.
#[tokio::test]
async fn text_with_nul_and_numbers_out_of_range_are_bad_user_input_naming_the_argument() {
    let app = TestApp::spawn().await;
    let filter = "query($f: ProductFilter) { products(filter: $f) { totalCount } }";
    for (query, variables, named) in [
        (
            r#"{ products(first: 5, filter: { search: "a\u0000b" }) { totalCount } }"#,
            json!({}),
            "filter.search",
        ),
        (r#"{ product(slug: "a\u0000b") { name } }"#, json!({}), "slug"),
        (r#"{ products(filter: { colours: ["a\u0000"] }) { totalCount } }"#, json!({}), "filter.colours"),
        (filter, json!({ "f": { "category": "a\u{0}b" } }), "$f.category"),
        (r#"{ order(number: "MC-1", email: "a\u0000@b.c") { number } }"#, json!({}), "email"),
        (
            r#"mutation { login(input: { email: "a@b.c", password: "x\u0000" }) { token } }"#,
            json!({}),
            "input.password",
        ),
        (filter, json!({ "f": { "minPrice": 99_999_999_999i64 } }), "filter"),
        (r#"{ products(filter: { minPrice: 99999999999 }) { totalCount } }"#, json!({}), "filter"),
        (r#"mutation { addToCart(variantId: "x", quantity: 99999999999) { token } }"#, json!({}), "quantity"),
    ] {
        let body = app.post_graphql_with(json!({ "query": query, "variables": variables })).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{query} {variables}: {body}");
        let message = error["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{named}: ")), "{query}: {message} names {named}");
    }
}

/// A type as introspection tells it.
#[derive(Debug, Clone, serde::Deserialize)]
struct TypeRef {
    kind: String,
    name: Option<String>,
    #[serde(rename = "ofType")]
    of_type: Option<Box<TypeRef>>,
}

impl TypeRef {
    /// The type in GraphQL syntax, as a variable declares it.
    fn syntax(&self) -> String {
        match (self.kind.as_str(), &self.of_type) {
            ("NON_NULL", Some(inner)) => format!("{}!", inner.syntax()),
            ("LIST", Some(inner)) => format!("[{}]", inner.syntax()),
            _ => self.name.clone().unwrap_or_default(),
        }
    }

    fn named(&self) -> &TypeRef {
        self.of_type.as_deref().map_or(self, TypeRef::named)
    }
}

const TYPE_REF: &str = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";

/// A root field: `query` or `mutation`, its name, its arguments, and whether it returns an object.
struct RootField {
    operation: &'static str,
    name: String,
    args: Vec<(String, TypeRef)>,
    returns_object: bool,
}

/// Every root field with its arguments, and every input object and enum, from introspection.
struct SchemaShape {
    fields: Vec<RootField>,
    inputs: std::collections::HashMap<String, Vec<(String, TypeRef)>>,
    enums: std::collections::HashMap<String, Vec<String>>,
}

async fn schema_shape(app: &TestApp) -> SchemaShape {
    let args = format!("name type {{ {TYPE_REF} }}");
    let query = format!(
        "{{ __schema {{ queryType {{ fields {{ name args {{ {args} }} type {{ {TYPE_REF} }} }} }} \
         mutationType {{ fields {{ name args {{ {args} }} type {{ {TYPE_REF} }} }} }} \
         types {{ kind name inputFields {{ {args} }} enumValues {{ name }} }} }} }}"
    );
    let schema = app.post_graphql(&query).await["data"]["__schema"].clone();
    let pairs = |list: &Value| -> Vec<(String, TypeRef)> {
        list.as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                (a["name"].as_str().unwrap().to_owned(), serde_json::from_value(a["type"].clone()).unwrap())
            })
            .collect()
    };
    let mut fields = Vec::new();
    for (operation, root) in [("query", "queryType"), ("mutation", "mutationType")] {
        for field in schema[root]["fields"].as_array().unwrap() {
            let returns: TypeRef = serde_json::from_value(field["type"].clone()).unwrap();
            let returns_object = matches!(returns.named().kind.as_str(), "OBJECT" | "INTERFACE" | "UNION");
            let (name, args) = (field["name"].as_str().unwrap().to_owned(), pairs(&field["args"]));
            fields.push(RootField { operation, name, args, returns_object });
        }
    }
    let types = schema["types"].as_array().unwrap();
    let named = |kind: &'static str| types.iter().filter(move |t| t["kind"] == kind);
    SchemaShape {
        fields,
        inputs: named("INPUT_OBJECT")
            .map(|t| (t["name"].as_str().unwrap().to_owned(), pairs(&t["inputFields"])))
            .collect(),
        enums: named("ENUM")
            .map(|t| {
                let values = t["enumValues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["name"].as_str().unwrap().to_owned());
                (t["name"].as_str().unwrap().to_owned(), values.collect())
            })
            .collect(),
    }
}

/// Stands for a lone UTF-16 surrogate, which JSON can escape but no Rust string can hold: it is
/// written as `\ud800` into the request's text.
const LONE_SURROGATE: char = '\u{E000}';

fn hostile_text() -> proptest::strategy::BoxedStrategy<String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<String>(),
        "[a-z0-9-]{1,12}",
        "[a-z]{1,8}@[a-z]{1,8}\\.com",
        any::<String>().prop_map(|s| format!("{s}\0{s}")),
        "[\\x00-\\x1f\\x7f]{1,20}",
        Just(format!("a{LONE_SURROGATE}b")),
        Just("é漢🧥".repeat(2_000)),
        Just("x".repeat(10_000)),
    ]
    .boxed()
}

fn hostile_number() -> proptest::strategy::BoxedStrategy<Value> {
    use proptest::prelude::*;
    prop_oneof![
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!(i32::MAX)),
        Just(json!(i32::MIN)),
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(1.5e308)),
        Just(json!(-0.5)),
        any::<i32>().prop_map(|n| json!(n)),
    ]
    .boxed()
}

/// A value of `ty`, or a hostile stand-in for one, as a variable carries it.
fn value_of(ty: &TypeRef, shape: &SchemaShape, depth: u32) -> proptest::strategy::BoxedStrategy<Value> {
    use proptest::prelude::*;
    let nullable = ty.kind != "NON_NULL";
    let strategy = match (ty.kind.as_str(), &ty.of_type) {
        ("NON_NULL", Some(inner)) => value_of(inner, shape, depth),
        ("LIST", Some(inner)) => {
            proptest::collection::vec(value_of(inner, shape, depth + 1), 0..3).prop_map(Value::Array).boxed()
        }
        _ => {
            let name = ty.name.clone().unwrap_or_default();
            match name.as_str() {
                "Int" | "Float" => hostile_number(),
                "Boolean" => any::<bool>().prop_map(|b| json!(b)).boxed(),
                _ if shape.enums.contains_key(&name) => {
                    let values: Vec<Value> = shape.enums[&name].iter().map(|v| json!(v)).collect();
                    prop_oneof![proptest::sample::select(values), hostile_text().prop_map(|t| json!(t))]
                        .boxed()
                }
                _ if shape.inputs.contains_key(&name) && depth < 3 => {
                    let fields: Vec<_> = shape.inputs[&name]
                        .iter()
                        .map(|(field, ty)| (field.clone(), value_of(ty, shape, depth + 1)))
                        .collect();
                    fields
                        .into_iter()
                        .map(|(field, value)| value.prop_map(move |v| (field.clone(), v)))
                        .collect::<Vec<_>>()
                        .prop_map(|fields| Value::Object(fields.into_iter().collect()))
                        .boxed()
                }
                _ => {
                    let ids = any::<u128>().prop_map(|n| {
                        json!(crate::carts::base64_global_id("Variant", uuid::Uuid::from_u128(n)))
                    });
                    prop_oneof![hostile_text().prop_map(|t| json!(t)), ids].boxed()
                }
            }
        }
    };
    if nullable { prop_oneof![1 => Just(Value::Null), 4 => strategy].boxed() } else { strategy }
}

/// One root field called with hostile arguments: the request's JSON text and who sends it.
fn hostile_request(shape: &SchemaShape) -> proptest::strategy::BoxedStrategy<(String, usize)> {
    use proptest::prelude::*;
    let calls: Vec<_> = shape
        .fields
        .iter()
        .map(|RootField { operation, name: field, args, returns_object }| {
            let declared: Vec<String> =
                args.iter().enumerate().map(|(i, (_, ty))| format!("$a{i}: {}", ty.syntax())).collect();
            let passed: Vec<String> =
                args.iter().enumerate().map(|(i, (name, _))| format!("{name}: $a{i}")).collect();
            let document = format!(
                "{operation} Fuzz{} {{ {field}{} {} }}",
                if declared.is_empty() { String::new() } else { format!("({})", declared.join(", ")) },
                if passed.is_empty() { String::new() } else { format!("({})", passed.join(", ")) },
                if *returns_object { "{ __typename }" } else { "" },
            );
            let values: Vec<_> = args.iter().map(|(_, ty)| value_of(ty, shape, 0)).collect();
            values
                .prop_map(move |values| {
                    let variables: serde_json::Map<String, Value> =
                        values.into_iter().enumerate().map(|(i, v)| (format!("a{i}"), v)).collect();
                    json!({ "query": document, "variables": variables })
                        .to_string()
                        .replace(LONE_SURROGATE, "\\ud800")
                })
                .boxed()
        })
        .collect();
    (proptest::strategy::Union::new(calls), 0..3usize).boxed()
}

/// Every root field, queries and mutations, called by a guest, a session and an administrator with
/// arbitrary text (NUL, control characters, lone surrogates, 10 kB) and extreme numbers in every
/// argument: never a 5xx, never an internal error.
#[test]
fn hostile_arguments_to_every_root_field_never_make_an_internal_error() {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let shape = runtime.block_on(schema_shape(&app));
    let guest = runtime.block_on(app.post_graphql("mutation { startSession { token } }"))["data"]["startSession"]
        ["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = runtime.block_on(app.admin_token());
    let tokens = [None, Some(guest), Some(admin)];
    let mut runner = TestRunner::new(Config { cases: 400, failure_persistence: None, ..Config::default() });
    let outcome = runner.run(&hostile_request(&shape), |(body, who)| {
        let mut request = app
            .client
            .post(format!("{}/graphql", app.address))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(token) = &tokens[who] {
            request = request.bearer_auth(token);
        }
        let response = runtime.block_on(request.send()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let status = response.status().as_u16();
        let answer = runtime.block_on(response.text()).unwrap_or_default();
        if status >= 500 || answer.contains("INTERNAL_SERVER_ERROR") {
            return Err(TestCaseError::fail(format!("{status} {answer} for {body}")));
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
