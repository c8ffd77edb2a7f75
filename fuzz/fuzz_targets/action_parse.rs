//! libFuzzer target `action_parse`: decode, `Action::parse` over every
//! action, and `Engine::execute` on an in-memory engine, with invariant
//! checks after each operation (see `harness/mod.rs`).

#![no_main]
// A fuzz target reports a finding by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::action_parse_input(data));
