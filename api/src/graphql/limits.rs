//! Bounds on what one request may ask, so that no client can make the server work without end: the
//! document's size and aliases and the batch's length, checked before the document is validated; its
//! depth and complexity (a list field costs its `first`/`last` times what it selects), checked by
//! validation. A request over a bound is refused before any resolver runs, with the code
//! `BAD_REQUEST` and `extensions.limit` naming the bound.
//! Documents that do not parse or validate get `GRAPHQL_PARSE_FAILED` / `GRAPHQL_VALIDATION_FAILED`.

use std::sync::Arc;

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

use super::errors::ErrorCode;
use crate::config::QueryLimits;

/// A request over one of the bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    /// `depth`, `complexity`, `documentBytes`, `aliases` or `batch`.
    pub limit: &'static str,
    pub message: String,
}

impl LimitExceeded {
    pub fn into_server_error(self) -> ServerError {
        let mut error = ServerError::new(self.message, None);
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", ErrorCode::BadRequest.as_str());
        extensions.set("limit", self.limit);
        error
    }
}

impl QueryLimits {
    pub fn check_batch(&self, operations: usize) -> Result<(), LimitExceeded> {
        if operations > self.batch {
            let message =
                format!("a batch holds at most {} operations; this one has {operations}", self.batch);
            return Err(LimitExceeded { limit: "batch", message });
        }
        Ok(())
    }

    fn check_size(&self, query: &str) -> Result<(), LimitExceeded> {
        if query.len() > self.document_bytes {
            let message =
                format!("a document has at most {} bytes; this one has {}", self.document_bytes, query.len());
            return Err(LimitExceeded { limit: "documentBytes", message });
        }
        Ok(())
    }

    fn check_aliases(&self, document: &ExecutableDocument) -> Result<(), LimitExceeded> {
        let operations = document.operations.iter().map(|(_, operation)| &operation.node.selection_set.node);
        let fragments = document.fragments.values().map(|fragment| &fragment.node.selection_set.node);
        let aliases: usize = operations.chain(fragments).map(aliases_in).sum();
        if aliases > self.aliases {
            let message = format!("a document has at most {} aliases; this one has {aliases}", self.aliases);
            return Err(LimitExceeded { limit: "aliases", message });
        }
        Ok(())
    }
}

/// `error` with `code`, unless it has one.
fn with_code(mut error: ServerError, code: ErrorCode) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code.as_str());
    }
    error
}

fn aliases_in(selections: &SelectionSet) -> usize {
    selections
        .items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some()) + aliases_in(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => aliases_in(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

impl QueryLimits {
    /// Refuses a document over the size bound, one that does not parse (`parsed` says why), or one
    /// over the aliases bound, before it is validated; `then` checks it between the last two.
    pub fn admit(
        &self,
        query: &str,
        parsed: &Result<Arc<ExecutableDocument>, ServerError>,
        then: impl FnOnce(&ExecutableDocument) -> Result<(), ServerError>,
    ) -> Result<(), ServerError> {
        self.check_size(query).map_err(LimitExceeded::into_server_error)?;
        let document = parsed.as_ref().map_err(|e| with_code(e.clone(), ErrorCode::GraphqlParseFailed))?;
        then(document)?;
        self.check_aliases(document).map_err(LimitExceeded::into_server_error)
    }

    /// Gives each error of a request refused before execution its code: async-graphql's refusals
    /// over the depth and complexity bounds name the bound, one nested past what its parser takes is
    /// a parse failure, and every other is a validation failure.
    pub fn code_refusals(&self, errors: &mut [ServerError]) {
        for error in errors {
            let coded = match error.message.as_str() {
                "Query is nested too deep." => LimitExceeded {
                    limit: "depth",
                    message: format!("a query is at most {} fields deep", self.depth),
                }
                .into_server_error(),
                "Query is too complex." => LimitExceeded {
                    limit: "complexity",
                    message: format!(
                        "a query costs at most {} (a list field costs its first or last times what it selects)",
                        self.complexity
                    ),
                }
                .into_server_error(),
                message if message.starts_with("The recursion depth of the query") => {
                    with_code(error.clone(), ErrorCode::GraphqlParseFailed)
                }
                _ => with_code(error.clone(), ErrorCode::GraphqlValidationFailed),
            };
            *error = coded;
        }
    }
}

/// The complexity of a page of `size` items (the default page size when not given), each costing
/// `child_complexity`.
pub fn page_cost(size: Option<i32>, child_complexity: usize) -> usize {
    let size = size.map_or(domain::paging::DEFAULT_PAGE_SIZE as usize, |size| size.clamp(1, 100) as usize);
    size.saturating_mul(child_complexity)
}
