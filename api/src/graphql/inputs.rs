//! What no argument may hold, checked before anything uses it: text with the NUL character, which
//! PostgreSQL cannot store (anywhere in a literal argument or a variable); and the failures of
//! arguments that do not fit their type, found while a field is resolved (a number out of range inside
//! an input object). Both are the client's mistake: `BAD_USER_INPUT`, the message starting with the
//! argument it is about (`filter.search: …`, `$f.category: …`).

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, ResolveInfo,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Value, Variables};

use super::errors::{ErrorCode, error};

/// The extension that checks arguments.
pub struct InputChecks;

impl ExtensionFactory for InputChecks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(InputChecks)
    }
}

#[async_trait::async_trait]
impl Extension for InputChecks {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let variables = variables.iter().map(|(name, value)| (format!("${name}"), value.clone()));
        let mut arguments = variables.chain(literal_arguments(&document));
        match arguments.find_map(|(name, value)| nul_in(&name, &value)) {
            Some(place) => Err(bad_input(&place, "text may not hold the NUL character (U+0000)", None)),
            None => Ok(document),
        }
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let field = info.field;
        next.run(ctx, info).await.map_err(|failure| {
            let coded = failure.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
            let argument = field
                .arguments
                .iter()
                .find(|(_, value)| failure.locations.contains(&value.pos))
                .map(|(name, _)| name.node.to_string());
            match argument {
                Some(argument) if !coded => {
                    let problem = failure.message.clone();
                    bad_input(&argument, &problem, Some(failure))
                }
                _ => failure,
            }
        })
    }
}

/// Every literal argument of the document's fields, named by the argument (the variables in it read
/// as null: they are checked on their own).
fn literal_arguments(document: &ExecutableDocument) -> Vec<(String, Value)> {
    let operations = document.operations.iter().map(|(_, operation)| &operation.node.selection_set.node);
    let fragments = document.fragments.values().map(|fragment| &fragment.node.selection_set.node);
    let mut arguments = Vec::new();
    for selections in operations.chain(fragments) {
        collect_arguments(selections, &mut arguments);
    }
    arguments
}

fn collect_arguments(selections: &SelectionSet, into: &mut Vec<(String, Value)>) {
    for selection in &selections.items {
        match &selection.node {
            Selection::Field(field) => {
                let field = &field.node;
                for (name, value) in &field.arguments {
                    let literal = value.node.clone().into_const_with(|_| Ok::<_, ()>(Value::Null));
                    into.push((name.node.to_string(), literal.unwrap_or(Value::Null)));
                }
                collect_arguments(&field.selection_set.node, into);
            }
            Selection::InlineFragment(fragment) => collect_arguments(&fragment.node.selection_set.node, into),
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
