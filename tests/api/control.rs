//! Placeholder: tests for control are being written.
