//! Placeholder: tests for auth are being written.
