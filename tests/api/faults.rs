//! Placeholder: tests for faults are being written.
