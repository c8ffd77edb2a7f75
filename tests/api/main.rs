//! Integration tests over real HTTP: one binary, a file per area. Every
//! test starts its own engine on a free port with an in-memory database,
//! and moves the simulated clock instead of sleeping.

mod helpers;

mod auth;
mod callbacks;
mod catalog;
mod concurrency;
mod control;
mod dashboard_api;
mod degrade;
mod examples;
mod faults;
mod lifecycle;
mod namespaces;
mod persistence;
mod transport;
mod upgrade;
