//! What no argument may hold, checked before anything uses it: text with the NUL character, which
//! PostgreSQL cannot store (anywhere in a literal argument or a variable); and the failures of
//! arguments that do not fit their type, found while a field is resolved (a number out of range inside
//! an input object). Both are the client's mistake: `BAD_USER_INPUT`, the message starting with the
//! argument it is about (`filter.search: …`, `$f.category: …`).

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Pos, ServerError, Value, Variables};

use super::errors::{ErrorCode, error};

/// Refuses text with the NUL character in `variables` or in `document`'s literal arguments.
pub fn check_text(document: &ExecutableDocument, variables: &Variables) -> Result<(), ServerError> {
    let variables = variables.iter().map(|(name, value)| (format!("${name}"), value.clone()));
    let mut arguments = variables.chain(literal_arguments(document));
    match arguments.find_map(|(name, value)| nul_in(&name, &value)) {
        Some(place) => Err(bad_input(&place, "text may not hold the NUL character (U+0000)", None)),
        None => Ok(()),
    }
}

/// Names the argument in each failure of an argument's value that was found while its field was
/// resolved (a failure without a code, located at an argument of `document`).
pub fn name_arguments(document: &ExecutableDocument, failures: &mut [ServerError]) {
    for failure in failures {
        let coded = failure.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
        if coded || failure.locations.is_empty() {
            continue;
        }
        if let Some(argument) = argument_at(document, &failure.locations) {
            let problem = failure.message.clone();
            *failure = bad_input(&argument, &problem, Some(failure.clone()));
        }
    }
}

/// Every literal argument of the document's fields, named by the argument (the variables in it read
/// as null: they are checked on their own).
fn literal_arguments(document: &ExecutableDocument) -> Vec<(String, Value)> {
    let mut arguments = Vec::new();
    for_each_field(document, &mut |field| {
        for (name, value) in &field.arguments {
            let literal = value.node.clone().into_const_with(|_| Ok::<_, ()>(Value::Null));
            arguments.push((name.node.to_string(), literal.unwrap_or(Value::Null)));
        }
    });
    arguments
}

/// The argument of one of `document`'s fields whose value is written at one of `locations`.
fn argument_at(document: &ExecutableDocument, locations: &[Pos]) -> Option<String> {
    let mut argument = None;
    for_each_field(document, &mut |field| {
        let at = field.arguments.iter().find(|(_, value)| locations.contains(&value.pos));
        if let (None, Some((name, _))) = (&argument, at) {
            argument = Some(name.node.to_string());
        }
    });
    argument
}

/// Visits every field of `document`'s operations and fragments.
fn for_each_field<'a>(document: &'a ExecutableDocument, visit: &mut impl FnMut(&'a Field)) {
    let operations = document.operations.iter().map(|(_, operation)| &operation.node.selection_set.node);
    let fragments = document.fragments.values().map(|fragment| &fragment.node.selection_set.node);
    for selections in operations.chain(fragments) {
        visit_fields(selections, visit);
    }
}

fn visit_fields<'a>(selections: &'a SelectionSet, visit: &mut impl FnMut(&'a Field)) {
    for selection in &selections.items {
        match &selection.node {
            Selection::Field(field) => {
                visit(&field.node);
                visit_fields(&field.node.selection_set.node, visit);
            }
            Selection::InlineFragment(fragment) => visit_fields(&fragment.node.selection_set.node, visit),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Where in `value` (named `place`) a text holds the NUL character, if one does.
fn nul_in(place: &str, value: &Value) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(place.to_owned()),
        Value::List(items) => items.iter().find_map(|item| nul_in(place, item)),
        Value::Object(fields) => {
            fields.iter().find_map(|(name, field)| nul_in(&format!("{place}.{name}"), field))
        }
        _ => None,
    }
}

/// `BAD_USER_INPUT` about `place`, keeping where `cause` happened.
fn bad_input(place: &str, problem: &str, cause: Option<ServerError>) -> ServerError {
    let message = format!("{place}: {problem}");
    let extensions = error(ErrorCode::BadUserInput, &message).extensions;
    let mut refused = cause.unwrap_or_else(|| ServerError::new(String::new(), None));
    refused.message = message;
    refused.extensions = extensions;
    refused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nul_place(query: &str) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        literal_arguments(&document).into_iter().find_map(|(name, value)| nul_in(&name, &value))
    }

    #[test]
    fn the_nul_character_is_found_wherever_an_argument_holds_it() {
        assert_eq!(
            nul_place(r#"{ products(filter: { search: "a\u0000" }) { totalCount } }"#).as_deref(),
            Some("filter.search")
        );
        assert_eq!(
            nul_place(r#"{ a: product(slug: "ok") { name } b: product(slug: "x\u0000") { name } }"#)
                .as_deref(),
            Some("slug")
        );
        assert_eq!(nul_place(r#"query { ...F } fragment F on Query { products(filter: { sizes: ["M", "\u0000"] }) { totalCount } }"#).as_deref(), Some("filter.sizes"));
        assert_eq!(nul_place(r#"{ products(filter: { search: "ça va\t\n" }) { totalCount } }"#), None);
    }
}
