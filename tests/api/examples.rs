//! Placeholder: tests for examples are being written.
