//! Placeholder: tests for callbacks are being written.
