//! Which operation of a request's document runs: the one `operationName` names, or the document's
//! only one. A document that does not parse, or that has several operations and names none, selects
//! nothing; the executor then reports why.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
};

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

/// Whether the operation `request` runs is a mutation.
pub fn is_mutation(request: &mut async_graphql::Request) -> bool {
    let name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else { return false };
    selected(document, name.as_deref()).is_some_and(|(_, operation)| operation.ty == OperationType::Mutation)
}

/// How many operations `request` is for the rate limits: a mutation one per root field (aliases
/// run the same mutation again), anything else one.
pub fn cost(request: &mut async_graphql::Request) -> u32 {
    match root_fields(request) {
        Some((OperationType::Mutation, fields)) => fields.names.len().max(1) as u32,
        _ => 1,
    }
}

/// The operation `request` runs: its type and the names of its root fields, fragments included,
/// in the order they are written; `RootFields::complete` says whether any were left out.
pub fn root_fields(request: &mut async_graphql::Request) -> Option<(OperationType, RootFields<'_>)> {
    let name = request.operation_name.clone();
    let document = request.parsed_query().ok()?;
    let (_, operation) = selected(document, name.as_deref())?;
    let mut fields = RootFields { names: Vec::new(), complete: true };
    fields.collect(&operation.selection_set.node, document, 0);
    Some((operation.ty, fields))
}

/// Fragments nest at most this deep among an operation's root fields.
const MAX_FRAGMENT_DEPTH: usize = 8;

/// The root fields of an operation, by name.
pub struct RootFields<'a> {
    pub names: Vec<&'a str>,
    /// False when some were left out: those in fragments nested more than `MAX_FRAGMENT_DEPTH` deep,
    /// or in fragments the document lacks.
    pub complete: bool,
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
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    let document = request.parsed_query().ok()?;
    selected(document, None).and_then(|(name, _)| name.map(str::to_owned))
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
    fn the_name_is_the_one_asked_for_or_the_only_one() {
        assert_eq!(name(&mut request("query Page { __typename }", None)).as_deref(), Some("Page"));
        assert_eq!(name(&mut request("{ __typename }", None)), None);
        let both = "query A { __typename } query B { __typename }";
        assert_eq!(name(&mut request(both, Some("B"))).as_deref(), Some("B"));
        assert_eq!(name(&mut request(both, None)), None);
    }
}
