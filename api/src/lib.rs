//! The MyClothes GraphQL server: HTTP (poem) and GraphQL (async-graphql) over the services of `infra`.

mod auth;
pub mod cli;
pub mod config;
pub mod graphql;
mod routes;
pub mod services;
pub mod startup;
mod telemetry;
