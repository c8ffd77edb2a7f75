//! Placeholder: the soak test is being written.
fn main() {}
