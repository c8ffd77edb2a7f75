//! Placeholder: tests for namespaces are being written.
