use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::catalog::CatalogFixture;

/// Five products in two brands and a small tree (Women › Dresses, Men), created in this order:
///
/// | product | brand | category | variants (size colour price stock) |
/// | Linen Summer Dress | Northwind | Dresses | S Navy 49.99 ×3, M Navy 49.99 ×0, M Black 59.99 ×2 |
/// | Silk Slip Dress | Southpaw | Dresses | M Ivory 129.99 ×1 |
/// | Cotton Shirt Dress | Northwind | Women | L Navy 39.99 ×5 |
/// | Oxford Shirt | Northwind | Men | M White 29.99 ×10, L Navy 29.99 ×0 |
/// | Wool Overcoat | Southpaw | Men | XL Black 199.99 ×0 |
async fn shop_with_five_products() -> TestApp {
    let app = TestApp::spawn().await;
    let mut catalog = CatalogFixture::new(&app.primary);
    let (northwind, southpaw) = (catalog.brand("Northwind").await, catalog.brand("Southpaw").await);
    let women = catalog.category("Women", None).await;
    let dresses = catalog.category("Dresses", Some(&women)).await;
    let men = catalog.category("Men", None).await;
    let v = [("S", "Navy", 4999, 3), ("M", "Navy", 4999, 0), ("M", "Black", 5999, 2)];
    catalog.product("Linen Summer Dress", northwind, dresses.0, &v).await;
    catalog.product("Silk Slip Dress", southpaw, dresses.0, &[("M", "Ivory", 12999, 1)]).await;
    catalog.product("Cotton Shirt Dress", northwind, women.0, &[("L", "Navy", 3999, 5)]).await;
    catalog
        .product("Oxford Shirt", northwind, men.0, &[("M", "White", 2999, 10), ("L", "Navy", 2999, 0)])
        .await;
    catalog.product("Wool Overcoat", southpaw, men.0, &[("XL", "Black", 19999, 0)]).await;
    app.wait_for_replica().await;
    app
}

async fn names(app: &TestApp, arguments: &str) -> Vec<String> {
    let arguments = if arguments.is_empty() { String::new() } else { format!("({arguments})") };
    let body =
        app.post_graphql(&format!("{{ products{arguments} {{ edges {{ node {{ name }} }} }} }}")).await;
    let edges = body["data"]["products"]["edges"].as_array().unwrap_or_else(|| panic!("{arguments}: {body}"));
    edges.iter().map(|e| e["node"]["name"].as_str().unwrap().to_owned()).collect()
}

fn set(names: &[&str]) -> HashSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[tokio::test]
async fn each_filter_narrows_the_listing() {
    let app = shop_with_five_products().await;
    let cases: &[(&str, &[&str])] = &[
        (r#"category: "women""#, &["Linen Summer Dress", "Silk Slip Dress", "Cotton Shirt Dress"]),
        (r#"category: "dresses""#, &["Linen Summer Dress", "Silk Slip Dress"]),
        (r#"category: "nowhere""#, &[]),
        (r#"brand: "southpaw""#, &["Silk Slip Dress", "Wool Overcoat"]),
        (r#"sizes: ["M"]"#, &["Linen Summer Dress", "Silk Slip Dress", "Oxford Shirt"]),
        (r#"sizes: ["XL", "L"]"#, &["Cotton Shirt Dress", "Oxford Shirt", "Wool Overcoat"]),
        (r#"colours: ["Navy"]"#, &["Linen Summer Dress", "Cotton Shirt Dress", "Oxford Shirt"]),
        ("minPrice: 5000", &["Linen Summer Dress", "Silk Slip Dress", "Wool Overcoat"]),
        ("maxPrice: 3000", &["Oxford Shirt"]),
        ("minPrice: 4000, maxPrice: 6000", &["Linen Summer Dress"]),
        ("inStock: true", &["Linen Summer Dress", "Silk Slip Dress", "Cotton Shirt Dress", "Oxford Shirt"]),
        (r#"search: "dress""#, &["Linen Summer Dress", "Silk Slip Dress", "Cotton Shirt Dress"]),
        (r#"search: "northwind""#, &["Linen Summer Dress", "Cotton Shirt Dress", "Oxford Shirt"]),
        (r#"search: "silk -dress""#, &[]),
        // Size, colour and stock must hold for one variant: the navy M of the linen dress is sold out.
        (r#"sizes: ["M"], colours: ["Navy"]"#, &["Linen Summer Dress"]),
        (r#"sizes: ["M"], colours: ["Navy"], inStock: true"#, &[]),
        (
            r#"category: "women", brand: "northwind", inStock: true"#,
            &["Linen Summer Dress", "Cotton Shirt Dress"],
        ),
    ];
    for (filter, expected) in cases {
        let found = names(&app, &format!("filter: {{ {filter} }}")).await;
        assert_eq!(found.iter().cloned().collect::<HashSet<_>>(), set(expected), "filter {{ {filter} }}");
        assert_eq!(found.len(), expected.len(), "filter {{ {filter} }} listed a product twice");
    }
}

#[tokio::test]
async fn each_sort_orders_the_listing() {
    let app = shop_with_five_products().await;
    let cases: &[(&str, &[&str])] = &[
        (
            "",
            &["Wool Overcoat", "Oxford Shirt", "Cotton Shirt Dress", "Silk Slip Dress", "Linen Summer Dress"],
        ),
        (
            "sort: NEWEST",
            &["Wool Overcoat", "Oxford Shirt", "Cotton Shirt Dress", "Silk Slip Dress", "Linen Summer Dress"],
        ),
        (
            "sort: PRICE_ASC",
            &["Oxford Shirt", "Cotton Shirt Dress", "Linen Summer Dress", "Silk Slip Dress", "Wool Overcoat"],
        ),
        (
            "sort: PRICE_DESC",
            &["Wool Overcoat", "Silk Slip Dress", "Linen Summer Dress", "Cotton Shirt Dress", "Oxford Shirt"],
        ),
        (
            "sort: NAME",
            &["Cotton Shirt Dress", "Linen Summer Dress", "Oxford Shirt", "Silk Slip Dress", "Wool Overcoat"],
        ),
        // Both words of "oxford or shirt" in the name rank above one.
        (r#"filter: { search: "oxford or shirt" }"#, &["Oxford Shirt", "Cotton Shirt Dress"]),
        (
            r#"filter: { search: "oxford or shirt" }, sort: RELEVANCE"#,
            &["Oxford Shirt", "Cotton Shirt Dress"],
        ),
        (r#"filter: { search: "oxford or shirt" }, sort: NAME"#, &["Cotton Shirt Dress", "Oxford Shirt"]),
    ];
    for (arguments, expected) in cases {
        assert_eq!(names(&app, arguments).await, *expected, "products({arguments})");
    }
}

#[tokio::test]
async fn pages_walk_forward_and_backward_through_equal_sort_keys() {
    let app = TestApp::spawn().await;
    let mut catalog = CatalogFixture::new(&app.primary);
    let brand = catalog.brand("Evenprice").await;
    let category = catalog.category("Basics", None).await;
    let mut created = Vec::new();
    for n in 1..=7 {
        let name = format!("Plain Tee {n}");
        catalog.product(&name, brand, category.0, &[("M", "White", 1000, 1)]).await;
        created.push(name);
    }
    app.wait_for_replica().await;
    // Every product costs the same, so every page boundary falls inside equal sort keys and the id
    // (time-ordered, so creation order) decides.
    let page = |arguments: String| {
        let app = &app;
        async move {
            let query = format!(
                "{{ products(sort: PRICE_ASC, {arguments}) {{ totalCount edges {{ cursor node {{ name }} }} \
                 pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
            );
            let body = app.post_graphql(&query).await;
            assert!(body["errors"].is_null(), "{arguments}: {body}");
            body["data"]["products"].clone()
        }
    };
    let names_of = |page: &Value| -> Vec<String> {
        page["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
            .collect()
    };

    let mut forward = Vec::new();
    let mut after = String::new();
    let mut pages = 0;
    loop {
        let current = page(format!("first: 3{after}")).await;
        assert_eq!(current["totalCount"], 7);
        assert_eq!(current["pageInfo"]["hasPreviousPage"], !after.is_empty());
        forward.extend(names_of(&current));
        pages += 1;
        if current["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = format!(r#", after: "{}""#, current["pageInfo"]["endCursor"].as_str().unwrap());
    }
    assert_eq!(pages, 3);
    assert_eq!(forward, created);

    let mut backward = Vec::new();
    let mut before = String::new();
    loop {
        let current = page(format!("last: 3{before}")).await;
        assert_eq!(current["pageInfo"]["hasNextPage"], !before.is_empty());
        let mut names = names_of(&current);
        names.append(&mut backward);
        backward = names;
        if current["pageInfo"]["hasPreviousPage"] == false {
            break;
        }
        before = format!(r#", before: "{}""#, current["pageInfo"]["startCursor"].as_str().unwrap());
    }
    assert_eq!(backward, created);

    let middle =
        page(format!(r#"first: 2, after: "{}""#, edge_cursor(&page("first: 3".into()).await, 2))).await;
    assert_eq!(names_of(&middle), ["Plain Tee 4", "Plain Tee 5"]);
    let back_from_middle = page(format!(r#"last: 2, before: "{}""#, edge_cursor(&middle, 0))).await;
    assert_eq!(names_of(&back_from_middle), ["Plain Tee 2", "Plain Tee 3"]);
}

fn edge_cursor(page: &Value, index: usize) -> String {
    page["edges"][index]["cursor"].as_str().unwrap().to_owned()
}

async fn error_code(app: &TestApp, query: &str) -> Value {
    let body = app.post_graphql(query).await;
    assert_eq!(body["data"], Value::Null, "{query}: {body}");
    body["errors"][0]["extensions"]["code"].clone()
}

#[tokio::test]
async fn a_cursor_from_another_sort_or_a_made_up_one_is_bad_user_input() {
    let app = shop_with_five_products().await;
    let body = app.post_graphql("{ products(first: 2, sort: PRICE_ASC) { pageInfo { endCursor } } }").await;
    let price_cursor = body["data"]["products"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();

    let other_sort =
        format!(r#"{{ products(first: 2, after: "{price_cursor}", sort: NAME) {{ totalCount }} }}"#);
    assert_eq!(error_code(&app, &other_sort).await, "BAD_USER_INPUT");
    let made_up = r#"{ products(first: 2, after: "bm90IGEgY3Vyc29y") { totalCount } }"#;
    assert_eq!(error_code(&app, made_up).await, "BAD_USER_INPUT");
    let same_sort =
        format!(r#"{{ products(first: 2, after: "{price_cursor}", sort: PRICE_ASC) {{ totalCount }} }}"#);
    assert_eq!(app.post_graphql(&same_sort).await["data"]["products"]["totalCount"], 5);
}

#[tokio::test]
async fn bad_paging_and_filter_arguments_are_bad_user_input() {
    let app = TestApp::spawn().await;
    for query in [
        "{ products(first: 0) { totalCount } }",
        "{ products(first: 101) { totalCount } }",
        "{ products(first: 2, last: 2) { totalCount } }",
        "{ products(filter: { minPrice: -1 }) { totalCount } }",
        "{ products(filter: { minPrice: 500, maxPrice: 100 }) { totalCount } }",
        r#"{ product(slug: "a", id: "b") { name } }"#,
        "{ product { name } }",
        r#"{ node(id: "not-an-id") { id } }"#,
    ] {
        assert_eq!(error_code(&app, query).await, "BAD_USER_INPUT", "{query}");
    }
}

#[tokio::test]
async fn a_product_is_found_by_slug_by_id_and_as_a_node() {
    let app = shop_with_five_products().await;
    let by_slug = app
        .post_graphql(
            r#"{ product(slug: "oxford-shirt") { id name priceFrom { amount currencyCode } inStock
                 brand { id name } category { name parent { name } }
                 variants { id sku size colour price { amount } compareAtPrice { amount } quantityAvailable inStock } } }"#,
        )
        .await;
    let product = &by_slug["data"]["product"];
    assert_eq!(product["name"], "Oxford Shirt");
    assert_eq!(product["priceFrom"], json!({ "amount": "29.99", "currencyCode": "EUR" }));
    assert_eq!(product["inStock"], true);
    assert_eq!(product["category"], json!({ "name": "Men", "parent": null }));
    assert_eq!(product["variants"].as_array().unwrap().len(), 2);
    assert_eq!(product["variants"][1]["quantityAvailable"], 0);
    assert_eq!(product["variants"][1]["inStock"], false);

    let id = product["id"].as_str().unwrap();
    let by_id = app.post_graphql(&format!(r#"{{ product(id: "{id}") {{ name }} }}"#)).await;
    assert_eq!(by_id["data"]["product"]["name"], "Oxford Shirt");

    let variant_id = product["variants"][0]["id"].as_str().unwrap();
    let brand_id = product["brand"]["id"].as_str().unwrap();
    let nodes = app
        .post_graphql(&format!(
            r#"{{ p: node(id: "{id}") {{ id ... on Product {{ name }} }}
                  v: node(id: "{variant_id}") {{ ... on Variant {{ sku product {{ name }} }} }}
                  b: node(id: "{brand_id}") {{ ... on Brand {{ slug }} }} }}"#
        ))
        .await;
    assert_eq!(nodes["data"]["p"], json!({ "id": id, "name": "Oxford Shirt" }));
    assert_eq!(nodes["data"]["v"]["product"]["name"], "Oxford Shirt");
    assert_eq!(nodes["data"]["b"]["slug"], "northwind");

    let missing = app.post_graphql(r#"{ product(slug: "no-such-shirt") { name } }"#).await;
    assert_eq!(missing, json!({ "data": { "product": null } }));
    assert_eq!(
        app.post_graphql(&format!(r#"{{ product(id: "{variant_id}") {{ name }} }}"#)).await["errors"][0]["extensions"]
            ["code"],
        "BAD_USER_INPUT"
    );
}

#[tokio::test]
async fn archived_products_are_neither_listed_nor_found() {
    let app = shop_with_five_products().await;
    app.primary
        .execute_unprepared("UPDATE products SET archived_at = now() WHERE slug = 'wool-overcoat'")
        .await
        .unwrap();
    app.wait_for_replica().await;

    assert!(!names(&app, "").await.contains(&"Wool Overcoat".to_owned()));
    let found = app.post_graphql(r#"{ product(slug: "wool-overcoat") { name } }"#).await;
    assert_eq!(found, json!({ "data": { "product": null } }));
}

#[tokio::test]
async fn categories_are_a_tree() {
    let app = shop_with_five_products().await;

    let body =
        app.post_graphql("{ categories { slug path children { slug path children { slug } } } }").await;

    assert_eq!(
        body["data"]["categories"],
        json!([
            { "slug": "men", "path": "men", "children": [] },
            { "slug": "women", "path": "women", "children": [{ "slug": "dresses", "path": "women/dresses", "children": [] }] },
        ])
    );
}

#[tokio::test]
async fn facets_count_each_dimension_without_its_own_filter() {
    let app = shop_with_five_products().await;

    let body = app
        .post_graphql(
            r#"{ products(filter: { category: "women", sizes: ["M"] }) { totalCount
                 facets { sizes { value count } colours { value count } brands { value label count } } } }"#,
        )
        .await;

    let listing = &body["data"]["products"];
    assert_eq!(listing["totalCount"], 2, "{body}");
    // Sizes ignore the size filter: every size in Women, smallest first.
    assert_eq!(
        listing["facets"]["sizes"],
        json!([{ "value": "S", "count": 1 }, { "value": "M", "count": 2 }, { "value": "L", "count": 1 }])
    );
    // Colours keep the size filter: colours of size-M variants in Women.
    assert_eq!(
        listing["facets"]["colours"],
        json!([{ "value": "Black", "count": 1 }, { "value": "Ivory", "count": 1 }, { "value": "Navy", "count": 1 }])
    );
    assert_eq!(
        listing["facets"]["brands"],
        json!([
            { "value": "northwind", "label": "Northwind", "count": 1 },
            { "value": "southpaw", "label": "Southpaw", "count": 1 },
        ])
    );
}

#[tokio::test]
async fn a_listing_page_costs_the_same_few_statements_for_5_or_50_products() {
    let app = TestApp::spawn().await;
    let mut catalog = CatalogFixture::new(&app.primary);
    let brands = [catalog.brand("Alpha").await, catalog.brand("Beta").await, catalog.brand("Gamma").await];
    let top = catalog.category("Everything", None).await;
    let categories =
        [catalog.category("Tops", Some(&top)).await.0, catalog.category("Bottoms", Some(&top)).await.0];
    for n in 0..50 {
        let name = format!("Item {n}");
        let variants = [("S", "Red", 1000 + n, 1), ("M", "Red", 1000 + n, 2), ("L", "Blue", 1100 + n, 0)];
        catalog.product(&name, brands[n as usize % 3], categories[n as usize % 2], &variants).await;
    }
    app.wait_for_replica().await;
    let listing = |first: u32| {
        format!(
            "{{ products(first: {first}) {{ edges {{ node {{ name slug priceFrom {{ amount }} brand {{ name }} \
             category {{ name parent {{ name }} }} variants {{ sku size colour price {{ amount }} inStock }} }} }} }} }}"
        )
    };
    app.post_graphql(&listing(1)).await; // the shop's currency is read once per instance

    let primary_before = app.statements_sent_to("primary");
    let mut costs = Vec::new();
    for first in [5, 50] {
        let before = app.statements_sent_to("replica-1");
        let body = app.post_graphql(&listing(first)).await;
        assert_eq!(body["data"]["products"]["edges"].as_array().unwrap().len(), first as usize, "{body}");
        costs.push(app.statements_sent_to("replica-1") - before);
    }

    // The page, then one statement each for the variants, the brands, and the categories with their
    // parents.
    assert_eq!(costs, [4, 4], "statements for 5 and for 50 products");
    assert_eq!(app.statements_sent_to("primary"), primary_before, "queries never touch the primary");
}
