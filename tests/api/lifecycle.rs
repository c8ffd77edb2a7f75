//! Placeholder: tests for lifecycle are being written.
