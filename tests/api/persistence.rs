//! Placeholder: tests for persistence are being written.
