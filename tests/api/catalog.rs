//! Placeholder: tests for catalog are being written.
