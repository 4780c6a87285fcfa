//! The SQL of product listings: one statement for a page (keyset, never OFFSET), one for the total,
//! one for the facet counts. Every value is a bound parameter.

use domain::listing::{ProductFilter, ProductSort};
use domain::paging::{Direction, PageRequest};
use sea_orm::{DbBackend, Statement, Value};

use super::cursor::ProductCursor;

/// The columns of `entities::product::Model`, for raw statements.
pub(super) const PRODUCT_COLUMNS: &str = "p.id, p.slug, p.name, p.description, p.brand_id, p.category_id, \
    p.material, p.care, p.images, p.created_at, p.updated_at, p.archived_at, p.price_from_minor";

/// A statement under construction: text and its bound values, `$1`, `$2`, … in order.
#[derive(Default)]
struct Sql {
    values: Vec<Value>,
}

impl Sql {
    /// Binds `value` and returns its placeholder.
    fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    fn statement(self, text: String) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, text, self.values)
    }
}

/// A filter dimension left out of the conditions, so that its facet counts every choice of it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dimension {
    Size,
    Colour,
    Brand,
}

/// Conditions on the product row `p`.
fn product_conditions(sql: &mut Sql, filter: &ProductFilter, omit: Option<Dimension>) -> Vec<String> {
    let mut conditions =
        vec!["p.archived_at IS NULL".to_owned(), "p.price_from_minor IS NOT NULL".to_owned()];
    if let Some(category) = &filter.category {
        conditions.push(format!(
            "p.category_id IN (SELECT d.id FROM categories c JOIN categories d \
             ON d.path = c.path OR d.path LIKE c.path || '/%' WHERE c.slug = {})",
            sql.bind(category.clone())
        ));
    }
    if let Some(brand) = filter.brand.as_ref().filter(|_| omit != Some(Dimension::Brand)) {
        conditions
            .push(format!("p.brand_id = (SELECT id FROM brands WHERE slug = {})", sql.bind(brand.clone())));
    }
    if let Some(search) = &filter.search {
        conditions.push(format!("p.search @@ websearch_to_tsquery('english', {})", sql.bind(search.clone())));
    }
    conditions
}

/// Conditions on one variant row `v`, which must all hold for the same variant.
fn variant_conditions(sql: &mut Sql, filter: &ProductFilter, omit: Option<Dimension>) -> Vec<String> {
    let mut conditions = Vec::new();
    if !filter.sizes.is_empty() && omit != Some(Dimension::Size) {
        conditions.push(format!("v.size = ANY({})", sql.bind(filter.sizes.clone())));
    }
    if !filter.colours.is_empty() && omit != Some(Dimension::Colour) {
        conditions.push(format!("v.colour = ANY({})", sql.bind(filter.colours.clone())));
    }
    if let Some(min) = filter.min_price {
        conditions.push(format!("v.price_minor >= {}", sql.bind(min)));
    }
    if let Some(max) = filter.max_price {
        conditions.push(format!("v.price_minor <= {}", sql.bind(max)));
    }
    if filter.in_stock {
        conditions.push("v.stock_on_hand > 0".to_owned());
    }
    conditions
}

/// The whole filter as one condition on `p`.
fn listed(sql: &mut Sql, filter: &ProductFilter, omit: Option<Dimension>) -> String {
    let mut conditions = product_conditions(sql, filter, omit);
    let variant = variant_conditions(sql, filter, omit);
    if !variant.is_empty() {
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM variants v WHERE v.product_id = p.id AND {})",
            variant.join(" AND ")
        ));
    }
    conditions.join(" AND ")
}

/// The sort value expression, and whether it sorts descending. `sort` is already effective, so
/// `Relevance` comes with a search.
fn sort_key(sql: &mut Sql, sort: ProductSort, filter: &ProductFilter) -> (String, bool) {
    match sort {
        ProductSort::Relevance => {
            let search = filter.search.clone().unwrap_or_default();
            (format!("ts_rank(p.search, websearch_to_tsquery('english', {}))", sql.bind(search)), true)
        }
        ProductSort::Newest => ("p.created_at".to_owned(), true),
        ProductSort::PriceAsc => ("p.price_from_minor".to_owned(), false),
        ProductSort::PriceDesc => ("p.price_from_minor".to_owned(), true),
        ProductSort::Name => ("p.name".to_owned(), false),
    }
}

/// One more row than the page holds (so the caller knows whether another page follows), in the
/// order of the walk: reversed for a backward page. Relevance pages also return `rank`.
pub(super) fn page(
    filter: &ProductFilter,
    sort: ProductSort,
    page: &PageRequest,
    after: Option<&ProductCursor>,
) -> Statement {
    let mut sql = Sql::default();
    let mut conditions = vec![listed(&mut sql, filter, None)];
    let (key, descending) = sort_key(&mut sql, sort, filter);
    let walk_descending = descending != (page.direction == Direction::Backward);
    if let Some(cursor) = after {
        let (value, id) = match cursor.clone() {
            ProductCursor::Relevance { rank, id } => (sql.bind(rank), id),
            ProductCursor::Newest { created_at, id } => (sql.bind(created_at), id),
            ProductCursor::PriceAsc { price, id } | ProductCursor::PriceDesc { price, id } => {
                (sql.bind(price), id)
            }
            ProductCursor::Name { name, id } => (sql.bind(name), id),
        };
        let op = if walk_descending { "<" } else { ">" };
        conditions.push(format!("({key}, p.id) {op} ({value}, {})", sql.bind(id)));
    }
    let direction = if walk_descending { "DESC" } else { "ASC" };
    let rank = if sort == ProductSort::Relevance { format!(", {key} AS rank") } else { String::new() };
    let text = format!(
        "SELECT {PRODUCT_COLUMNS}{rank} FROM products p WHERE {} ORDER BY {key} {direction}, p.id {direction} LIMIT {}",
        conditions.join(" AND "),
        page.size + 1
    );
    sql.statement(text)
}

pub(super) fn count(filter: &ProductFilter) -> Statement {
    let mut sql = Sql::default();
    let text = format!("SELECT count(*) AS count FROM products p WHERE {}", listed(&mut sql, filter, None));
    sql.statement(text)
}

/// Per size, colour and brand: how many listed products have it, each dimension counted with the
/// filter on that dimension left out (so a sidebar can offer every alternative). Rows of
/// `(facet, value, label, count)`, most frequent first.
pub(super) fn facets(filter: &ProductFilter) -> Statement {
    let mut sql = Sql::default();
    let by_variant = |sql: &mut Sql, column: &str, dimension: Dimension| {
        let mut conditions = product_conditions(sql, filter, Some(dimension));
        conditions.extend(variant_conditions(sql, filter, Some(dimension)));
        format!(
            "SELECT '{column}' AS facet, v.{column} AS value, v.{column} AS label, count(DISTINCT p.id) AS count \
             FROM products p JOIN variants v ON v.product_id = p.id WHERE {} GROUP BY v.{column}",
            conditions.join(" AND ")
        )
    };
    let sizes = by_variant(&mut sql, "size", Dimension::Size);
    let colours = by_variant(&mut sql, "colour", Dimension::Colour);
    let brands = format!(
        "SELECT 'brand' AS facet, b.slug AS value, b.name AS label, count(*) AS count \
         FROM products p JOIN brands b ON b.id = p.brand_id WHERE {} GROUP BY b.id",
        listed(&mut sql, filter, Some(Dimension::Brand))
    );
    let text =
        format!("({sizes}) UNION ALL ({colours}) UNION ALL ({brands}) ORDER BY facet, count DESC, label");
    sql.statement(text)
}
