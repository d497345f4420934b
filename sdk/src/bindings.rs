//! The generated bindings of the interfaces every world shares (`types`, `host`); the token and
//! resolver worlds map theirs onto these, so `PluginError` is one type whichever world is built.

// The WIT documents every item the API exposes; a few generated record fields have no comment.
#![allow(
    missing_docs,
    unsafe_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]

wit_bindgen::generate!({
    inline: "package tessera:sdk; world common { import tessera:plugin/host@0.1.0; }",
    path: "wit",
    world: "tessera:sdk/common",
    generate_all,
});

pub use tessera::plugin::{host, types};
