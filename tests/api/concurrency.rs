//! Placeholder: tests for concurrency are being written.
