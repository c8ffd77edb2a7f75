//! Placeholder: tests for upgrade are being written.
