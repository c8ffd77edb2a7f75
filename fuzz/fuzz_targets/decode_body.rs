//! libFuzzer target `decode_body`: the `/api` body decoder with an
//! arbitrary content type, limits and bytes (see `harness/mod.rs`).

#![no_main]
// A fuzz target reports a finding by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decode_body_input(data));
