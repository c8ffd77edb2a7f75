//! apayun-mock: a faithful mock of the ZKEYS (阿帕云) engine's bare-metal
//! reseller API, for integration tests, demos and CI fixtures.
//!
//! It signs and checks like the real engine, keeps inventory and IP subnets
//! in SQLite, enforces the documented rules, and moves instances through
//! their states on a simulated clock — plus a `/_mock` control API for
//! testers (clock, faults, journal, snapshots, namespaces).
//!
//! # Layout
//!
//! - [`config`]: the CLI and environment configuration.
//! - [`server`]: router, start-up and shutdown.
//! - [`registry`]: the namespaces of this process: made from a seed image,
//!   forked, deleted, expired.
//! - [`scheduler`]: one timer for every engine's due transitions.
//! - [`api`]: `POST /api` — body decoding, authentication, envelope, the
//!   HTTP error (status, code, sign diagnostics).
//! - [`actions`]: one module per upstream action, dispatched by `Action`.
//! - [`domain`]: pure rules — state machine, upgrade/degrade, IP allocation.
//! - [`store`]: the only place with SQL; schema, migrations, queries.
//! - [`lifecycle`]: what each due transition does.
//! - [`engine`]: one isolated engine's state and its operations, with its
//!   lane to the database and its render cache.
//! - [`clock`]: the simulated clock, the only reader of system time.
//! - [`protocol`]: below everything — `Params`, the sign formula, secret
//!   masking, the `X-Mock-Error` reasons and the HTTP-free `Refusal`.
//! - [`seed`]: seed data loading and validation.
//! - [`journal`], [`faults`], [`callbacks`]: tester powers.
//! - [`admin`]: the `/_mock` control API.
//! - [`events`]: change notices behind `GET /_mock/events`.
//! - [`ui`]: the dashboard page at `/_mock/ui` (embedded assets).
//! - [`mock`]: [`MockEngine`], the in-process engine for Rust test suites.
//! - [`client`]: a signed client, used by the CLI and tests.
//! - [`cli`]: the `call` and `sign` subcommands.
//! - [`scenario`]: scenario files (YAML) and their runner, `scenario run`.

pub mod actions;
pub mod admin;
pub mod api;
pub mod callbacks;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod domain;
pub mod engine;
pub mod events;
pub mod faults;
pub mod journal;
pub mod lifecycle;
pub mod mock;
pub mod protocol;
pub mod registry;
pub mod scenario;
pub mod scheduler;
pub mod seed;
pub mod server;
pub mod store;
pub mod ui;

pub use mock::MockEngine;
