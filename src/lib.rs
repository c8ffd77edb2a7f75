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
//! The library's API is [`MockEngine`] with its [`Builder`], [`Fork`] and
//! [`MockError`], the [`ServeConfig`] a builder may adjust, and the signed
//! [`Client`] and its [`Answer`]. The other modules are crate-private
//! (`test_support` re-exports what this repository's own tests use).
//!
//! - [`config`]: the engine's configuration; `args` (feature `cli`) parses
//!   it from the command line and environment.
//! - `server`: router, start-up and shutdown.
//! - `registry`: the namespaces of this process: made from a seed image,
//!   forked, deleted, expired.
//! - `scheduler`: one timer for every engine's due transitions.
//! - `protocol`: below everything — `Params`, the sign formula, secret
//!   masking, the `X-Mock-Error` reasons and the HTTP-free `Refusal`.
//! - `api`: `POST /api` — body decoding, authentication, envelope, the
//!   HTTP error (status, code, sign diagnostics).
//! - `actions`: one module per upstream action, dispatched by `Action`.
//! - `domain`: pure rules — state machine, upgrade/degrade, IP allocation.
//! - `store`: the only place with SQL; schema, migrations, queries.
//! - `lifecycle`: what each due transition does.
//! - `engine`: one isolated engine's state and its operations, with its
//!   lane to the database and its render cache.
//! - `clock`: the simulated clock, the only reader of system time.
//! - `seed`: seed data loading and validation.
//! - `journal`, `faults`, `callbacks`: tester powers.
//! - `admin`: the `/_mock` control API.
//! - `events`: change notices behind `GET /_mock/events`.
//! - `ui`: the dashboard page at `/_mock/ui` (embedded assets).
//! - [`mock`]: [`MockEngine`], the in-process engine for Rust test suites.
//! - [`client`]: a signed client, used by the CLI and tests.
//! - [`control`]: [`ControlClient`], the typed client of the control API
//!   (`MockEngine`, the scenario runner and the CLI use it).
//! - `cli` (feature `cli`): the binary's `main` and its subcommands.
//! - `scenario`: scenario files (YAML) and their runner, `scenario run`.
//! - `drift` (feature `cli`): `drift`, the shape comparison of a real
//!   engine's answers with the mock's, and `seed pull`, the catalog mirror.

pub(crate) mod actions;
pub(crate) mod admin;
pub(crate) mod api;
#[cfg(feature = "cli")]
pub(crate) mod args;
pub(crate) mod callbacks;
pub(crate) mod change;
#[cfg(feature = "cli")]
#[doc(hidden)]
pub mod cli;
pub mod client;
pub(crate) mod clock;
pub mod config;
pub mod control;
pub(crate) mod domain;
#[cfg(feature = "cli")]
pub(crate) mod drift;
pub(crate) mod engine;
pub(crate) mod events;
pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod lifecycle;
pub mod mock;
pub(crate) mod protocol;
pub(crate) mod registry;
pub(crate) mod scenario;
pub(crate) mod scheduler;
pub(crate) mod seed;
pub(crate) mod server;
pub(crate) mod store;
#[doc(hidden)]
pub mod test_support;
pub(crate) mod ui;

pub use client::{Answer, Client};
pub use config::{DbSync, ServeConfig};
pub use control::{ControlClient, ControlError};
pub use mock::{Builder, Fork, MockEngine, MockError};
