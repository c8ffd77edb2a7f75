//! Integration tests over real HTTP: one binary, a file per area. Every
//! test starts its own engine on a free port with an in-memory database,
//! and moves the simulated clock instead of sleeping.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../common/mod.rs"]
mod common;
mod helpers;

mod auth;
mod callback_order;
mod callbacks;
mod catalog;
mod cli_call;
mod clock_range;
mod closed_lists;
mod concurrency;
mod connections;
mod contract;
mod control;
mod control_input;
mod dashboard_api;
mod degrade;
mod examples;
mod faults;
mod ghost;
mod install_checks;
mod journal_pages;
mod lifecycle;
mod masking;
mod multipart;
mod namespaces;
mod openapi;
mod persistence;
mod races;
mod transport;
mod upgrade;
mod xml_stored;
