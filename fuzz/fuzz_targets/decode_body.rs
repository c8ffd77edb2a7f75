//! libFuzzer target `decode_body`: the `/api` body decoder with an
//! arbitrary content type, limits and bytes (see `harness/mod.rs`).

#![no_main]

mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decode_body_input(data));
