//! Placeholder: the load benchmark is being written.
fn main() {}
