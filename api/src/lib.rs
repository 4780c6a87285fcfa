//! The MyClothes GraphQL server: HTTP (poem) and GraphQL (async-graphql) over the services of `infra`.

mod auth;
pub mod cli;
mod client_ip;
pub mod config;
pub mod graphql;
mod metrics;
mod request_id;
mod routes;
pub mod services;
pub mod startup;
mod telemetry;
