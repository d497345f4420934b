//! Benchmark: placeholder.
fn main() {}
