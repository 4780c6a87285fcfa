//! Integration tests against the real local stack (`scripts/stack up`): PostgreSQL primary and
//! streaming replica, and Redis. Each test has its own database and Redis key prefix.

mod account_links;
mod admin;
mod breaker;
mod cache;
mod carts;
mod catalog;
mod checkout;
mod cli;
mod coherence;
mod conformance;
mod csrf;
mod customers;
mod discounts;
mod errors;
mod failover;
mod fuzz;
mod health;
mod limits;
mod metrics;
mod orders;
mod pages;
mod payments;
mod persisted_queries;
mod rate_limits;
mod replicas;
mod roles;
mod sessions;
mod shipping;
mod shop;
mod shutdown;
mod stack;
mod stripe;
mod support;
mod tls;
mod worker;
