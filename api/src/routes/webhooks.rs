//! `POST /webhooks/stripe`: Stripe's deliveries of events, each verified against its signature
//! (400 when it does not verify, so a forged or replayed-late delivery changes nothing), handled once
//! by its id (a delivery again answers 200), and answered 503 when the shop cannot handle it now, so
//! that Stripe delivers it again later. 404 when no webhook secret is set.

use std::sync::Arc;

use infra::orders::PaymentEvent;
use infra::stripe::webhook;
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Request, Response, handler};
use serde_json::json;

use crate::services::Services;

#[handler]
pub async fn stripe(request: &Request, body: Vec<u8>, services: Data<&Arc<Services>>) -> Response {
    let Some(secret) = &services.stripe_webhook_secret else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let signature = request.header("stripe-signature").unwrap_or_default();
    let event = match webhook::verify(secret, signature, &body, chrono::Utc::now().timestamp()) {
        Ok(event) => event,
        Err(rejected) => {
            tracing::warn!(%rejected, "a Stripe webhook delivery was refused");
            return answer(StatusCode::BAD_REQUEST, json!({ "error": rejected.to_string() }));
        }
    };
    let delivered =
        PaymentEvent { id: &event.id, kind: &event.kind, payment: event.payment_intent.as_deref() };
    match services.commands.payment_events.handle(&delivered).await {
        Ok(handled) => {
            let new = services.write_path.apply(handled, None).await;
            answer(StatusCode::OK, json!({ "received": true, "duplicate": !new }))
        }
        Err(err) => {
            tracing::warn!(event = %event.id, error = %err, "a Stripe event could not be handled now");
            answer(StatusCode::SERVICE_UNAVAILABLE, json!({ "error": "try again later" }))
        }
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    Json(body).with_status(status).into_response()
}
