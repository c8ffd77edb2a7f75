//! Placeholder: tests for transport are being written.
