//! The protocol layer, below the engine and the HTTP edge alike: what every
//! layer needs to speak the engine's protocol, with no HTTP in it — the
//! decoded request (`Params`), the sign formula, secret masking, the
//! `X-Mock-Error` reasons and the refusal that carries one, and how the
//! control API reads a whole number.
//!
//! Architecture invariant: this module imports nothing of the crate (not
//! even the clock) and no database (`tests/tidy.rs` checks both); every
//! arrow points down to it.

pub mod control;
pub mod mask;
pub mod params;
pub mod reason;
pub mod refusal;
pub mod sign;
pub mod whole;

pub use params::{scalar_text, Limits, Params, COMMON_FIELDS};
pub use reason::Reason;
pub use refusal::Refusal;
