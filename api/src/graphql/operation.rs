//! Which operation of a request's document runs: the one `operationName` names, or the document's
//! only one. A document that does not parse, or that has several operations and names none, selects
//! nothing; the executor then reports why.
//!
//! What the rate limits and the response cache need to know of it (`Facts`) is worked out once per
//! document and operation name and remembered, with the parsed document for the executions that
//! follow: parsing a document is most of what an answer from the cache costs, and a fifth of what a
//! cart change does. So is whether async-graphql's full validation has accepted it (`Validation`).

use std::any::TypeId;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use async_graphql::ServerError;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};
use moka::sync::Cache;

use super::cart::CHECKING_THEIR_SESSION;

/// The operation of `document` that runs for `name`, with its name when it has one.
pub fn selected<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a str>, &'a OperationDefinition)> {
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Some((None, &operation.node)),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            operations.get_key_value(name).map(|(name, operation)| (Some(name.as_str()), &operation.node))
        }
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.iter().next().map(|(name, operation)| (Some(name.as_str()), &operation.node))
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// What is known of the operation a request runs from its document and operation name alone.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// None when the document does not parse or selects no operation.
    pub ty: Option<OperationType>,
    /// The names of its root fields, fragments included, in the order they are written.
    pub root_fields: Vec<String>,
    /// False when some root fields were left out: those in fragments nested more than
    /// `MAX_FRAGMENT_DEPTH` deep, or in fragments the document lacks.
    pub complete: bool,
    /// The one asked for, or the document's only operation's.
    pub name: Option<String>,
}

impl Facts {
    /// Whether the operation is of type `ty` and every one of its root fields is among `fields`.
    pub fn only(&self, ty: OperationType, fields: &[&str]) -> bool {
        self.ty == Some(ty)
            && self.complete
            && !self.root_fields.is_empty()
            && self.root_fields.iter().all(|field| fields.contains(&field.as_str()))
    }
}

/// A document and operation name whose facts are known.
struct Known {
    query: String,
    operation_name: Option<String>,
    facts: Arc<Facts>,
    /// Why it does not parse, when it does not.
    parsed: Result<Arc<ExecutableDocument>, ServerError>,
    /// Whether async-graphql's full validation has accepted it (see `Validation`).
    validated: AtomicBool,
}

/// Whether async-graphql's full validation has accepted a request's document before, which then need
/// not be validated in full again (a tenth of what a cart change costs). Only a document without
/// variables is remembered: the values sent for variables are validated too, and differ from one
/// request to the next.
pub struct Validation(Arc<Known>);

impl Validation {
    pub fn of(request: &mut async_graphql::Request) -> Self {
        Self(known(request))
    }

    /// Whether the document was accepted before.
    pub fn done(&self) -> bool {
        self.0.validated.load(Ordering::Relaxed)
    }

    /// The full validation has just accepted the document.
    pub fn accepted(&self) {
        let without_variables = self.0.parsed.as_ref().is_ok_and(|document| {
            document.operations.iter().all(|(_, operation)| operation.node.variable_definitions.is_empty())
        });
        if without_variables {
            self.0.validated.store(true, Ordering::Relaxed);
        }
    }
}

/// Remembered facts, by a keyed hash of the document and operation name (checked in full on a hit).
static KNOWN: LazyLock<Cache<u64, Arc<Known>>> = LazyLock::new(|| {
    Cache::builder()
        .max_capacity(16 << 20)
        // A parsed document holds several times its text.
        .weigher(|_, known: &Arc<Known>| u32::try_from(known.query.len() * 8 + 512).unwrap_or(u32::MAX))
        .build()
});
static KNOWN_HASHER: LazyLock<std::hash::RandomState> = LazyLock::new(std::hash::RandomState::new);

/// The facts of the operation `request` runs.
pub fn facts(request: &mut async_graphql::Request) -> Arc<Facts> {
    known(request).facts.clone()
}

/// Gives `request`, about to be executed, its document parsed already when it is known.
pub fn reuse_parsed(request: &mut async_graphql::Request) {
    if let Ok(parsed) = &known(request).parsed {
        request.set_parsed_query(ExecutableDocument::clone(parsed));
    }
}

/// `request`'s document, parsed, or why it does not parse.
pub fn document(request: &mut async_graphql::Request) -> Result<Arc<ExecutableDocument>, ServerError> {
    known(request).parsed.clone()
}

/// What is known of `request`'s document, looked up (or worked out) once per request: the request
/// keeps it with its data.
fn known(request: &mut async_graphql::Request) -> Arc<Known> {
    let kept = request.data.get(&TypeId::of::<Arc<Known>>()).and_then(|kept| kept.downcast_ref());
    if let Some(known) = kept {
        return Arc::clone(known);
    }
    let known = remembered(request);
    request.data.insert(known.clone());
    known
}

fn remembered(request: &mut async_graphql::Request) -> Arc<Known> {
    let key = KNOWN_HASHER.hash_one((&request.query, &request.operation_name));
    if let Some(known) = KNOWN.get(&key)
        && known.query == request.query
        && known.operation_name == request.operation_name
    {
        return known;
    }
    let facts = Arc::new(work_out(request));
    let known = Arc::new(Known {
        query: request.query.clone(),
        operation_name: request.operation_name.clone(),
        facts,
        parsed: request.parsed_query().cloned().map(Arc::new),
        validated: AtomicBool::new(false),
    });
    KNOWN.insert(key, known.clone());
    known
}

fn work_out(request: &mut async_graphql::Request) -> Facts {
    let asked = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else { return Facts { name: asked, ..Facts::default() } };
    let Some((name, operation)) = selected(document, asked.as_deref()) else {
        return Facts { name: asked, ..Facts::default() };
    };
    let mut fields = RootFields { names: Vec::new(), complete: true };
    fields.collect(&operation.selection_set.node, document, 0);
    Facts {
        ty: Some(operation.ty),
        root_fields: fields.names.into_iter().map(str::to_owned).collect(),
        complete: fields.complete,
        name: asked.or_else(|| name.map(str::to_owned)),
    }
}

/// Whether the operation `request` runs is a mutation.
pub fn is_mutation(request: &mut async_graphql::Request) -> bool {
    facts(request).ty == Some(OperationType::Mutation)
}

/// Whether the operation `request` runs is made only of mutations that check the caller's session
/// themselves (the cart's), so that the request need not look it up first.
pub fn checks_its_session(request: &mut async_graphql::Request) -> bool {
    facts(request).only(OperationType::Mutation, CHECKING_THEIR_SESSION)
}

/// How many operations `request` is for the rate limits: a mutation one per root field (aliases
/// run the same mutation again), anything else one.
pub fn cost(request: &mut async_graphql::Request) -> u32 {
    let facts = facts(request);
    match facts.ty {
        Some(OperationType::Mutation) => facts.root_fields.len().max(1) as u32,
        _ => 1,
    }
}

/// Fragments nest at most this deep among an operation's root fields.
const MAX_FRAGMENT_DEPTH: usize = 8;

/// The root fields of an operation, by name.
struct RootFields<'a> {
    names: Vec<&'a str>,
    complete: bool,
}

impl<'a> RootFields<'a> {
    fn collect(&mut self, selections: &'a SelectionSet, document: &'a ExecutableDocument, depth: usize) {
        if depth > MAX_FRAGMENT_DEPTH {
            self.complete = false;
            return;
        }
        for selection in &selections.items {
            match &selection.node {
                Selection::Field(field) => self.names.push(field.node.name.node.as_str()),
                Selection::InlineFragment(fragment) => {
                    self.collect(&fragment.node.selection_set.node, document, depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    match document.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => {
                            self.collect(&fragment.node.selection_set.node, document, depth + 1)
                        }
                        None => self.complete = false,
                    }
                }
            }
        }
    }
}

/// The name of the operation `request` runs: the one asked for, or the document's only one.
pub fn name(request: &mut async_graphql::Request) -> Option<String> {
    facts(request).name.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mutation_costs_one_per_root_field_anything_else_one() {
        let cost = |query: &str| super::cost(&mut request(query, None));
        assert_eq!(cost("{ a: shop { name } b: shop { name } }"), 1);
        assert_eq!(cost("mutation { clearCart { userErrors { code } } }"), 1);
        assert_eq!(
            cost(
                "mutation { a: clearCart { cart { totalQuantity } } b: clearCart { cart { totalQuantity } } }"
            ),
            2
        );
        assert_eq!(
            cost(
                "mutation { ...F ... on Mutation { c: logout { loggedOut } } } fragment F on Mutation { a: logout { loggedOut } b: logout { loggedOut } }"
            ),
            3
        );
        assert_eq!(cost("not a document"), 1);
    }

    fn request(query: &str, operation_name: Option<&str>) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        request.operation_name = operation_name.map(str::to_owned);
        request
    }

    #[test]
    fn a_mutation_is_recognised_alone_or_when_chosen_by_name() {
        assert!(is_mutation(&mut request("mutation { __typename }", None)));
        let both = "query A { __typename } mutation B { __typename }";
        assert!(is_mutation(&mut request(both, Some("B"))));
        assert!(!is_mutation(&mut request(both, Some("A"))));
        assert!(!is_mutation(&mut request("{ __typename }", None)));
    }

    #[test]
    fn facts_are_remembered_per_document_and_operation_name() {
        let both = "query A { shop { name } } mutation B { clearCart { cart { totalQuantity } } }";
        let first = facts(&mut request(both, Some("A")));
        assert_eq!(first.ty, Some(OperationType::Query));
        assert!(Arc::ptr_eq(&first, &facts(&mut request(both, Some("A")))), "worked out once");
        let other = facts(&mut request(both, Some("B")));
        assert_eq!(
            (other.ty, other.root_fields.as_slice()),
            (Some(OperationType::Mutation), &["clearCart".to_owned()][..])
        );
    }

    #[test]
    fn only_a_document_without_variables_is_remembered_as_validated() {
        let validated = |query: &str| {
            Validation::of(&mut request(query, None)).accepted();
            Validation::of(&mut request(query, None)).done()
        };
        assert!(validated(
            "mutation { updateCartLine(variantId: \"V\", quantity: 2) { userErrors { code } } }"
        ));
        assert!(!validated(
            "mutation($q: Int!) { updateCartLine(variantId: \"V\", quantity: $q) { userErrors { code } } }"
        ));
        assert!(!validated(
            "query A { shop { name } } query B($x: Boolean!) { shop @include(if: $x) { name } }"
        ));
        assert!(
            !Validation::of(&mut request("{ shop { currency } }", None)).done(),
            "not before it is accepted"
        );
    }

    #[test]
    fn the_name_is_the_one_asked_for_or_the_only_one() {
        assert_eq!(name(&mut request("query Page { __typename }", None)).as_deref(), Some("Page"));
        assert_eq!(name(&mut request("{ __typename }", None)), None);
        let both = "query A { __typename } query B { __typename }";
        assert_eq!(name(&mut request(both, Some("B"))).as_deref(), Some("B"));
        assert_eq!(name(&mut request(both, None)), None);
    }
}
