//! `GET /graphql` (queries only; mutations are refused so that a link or an image tag can never
//! change anything) and GraphiQL. `POST /graphql` is async-graphql-poem's endpoint.

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql_poem::{GraphQLRequest, GraphQLResponse};
use poem::http::{StatusCode, header};
use poem::web::{Data, Html};
use poem::{IntoResponse, Response, handler};

use crate::graphql::{AppSchema, ErrorCode};

#[handler]
pub async fn get_query(schema: Data<&AppSchema>, request: GraphQLRequest) -> Response {
    let mut request = request.0;
    if selects_mutation(&mut request) {
        let body = serde_json::json!({ "errors": [{
            "message": "mutations are only accepted by POST",
            "extensions": { "code": ErrorCode::BadRequest.as_str() },
        }]});
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header(header::ALLOW, "POST")
            .content_type("application/json")
            .body(body.to_string());
    }
    GraphQLResponse::from(schema.execute(request).await).into_response()
}

/// Whether the operation the request would run is a mutation. A document that does not parse is left
/// to the executor, which reports the syntax error.
fn selects_mutation(request: &mut async_graphql::Request) -> bool {
    let operation_name = request.operation_name.clone();
    let Ok(document) = request.parsed_query() else {
        return false;
    };
    match &document.operations {
        DocumentOperations::Single(operation) => operation.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(operations) => operations
            .iter()
            .filter(|(name, _)| {
                operation_name
                    .as_deref()
                    .is_none_or(|wanted| name.as_str() == wanted)
            })
            .any(|(_, operation)| operation.node.ty == OperationType::Mutation),
    }
}

#[handler]
pub async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("MyClothes GraphiQL")
            .finish(),
    )
}
