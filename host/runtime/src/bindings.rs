//! The generated wasmtime bindings for the two plugin worlds. Private to this crate.

/// The host side of a `keystore.secret` resource: the key bytes, wiped when dropped.
pub struct SecretKey {
    pub key: zeroize::Zeroizing<Vec<u8>>,
}

/// World `token-plugin`: imports `host` and `keystore`, exports `token`.
#[allow(unsafe_code)] // generated typed-function glue
pub mod token {
    wasmtime::component::bindgen!({
        world: "token-plugin",
        path: "../../sdk/wit",
        with: { "tessera:plugin/keystore.secret": super::SecretKey },
        imports: { default: trappable },
    });
}

/// World `resolver-plugin`: imports `host`, `files`, `passwords`, exports `resolver`. Shares the
/// `types` and `host` bindings with the token world so `host` is implemented once.
#[allow(unsafe_code)] // generated typed-function glue
pub mod resolver {
    wasmtime::component::bindgen!({
        world: "resolver-plugin",
        path: "../../sdk/wit",
        with: {
            "tessera:plugin/types": super::token::tessera::plugin::types,
            "tessera:plugin/host": super::token::tessera::plugin::host,
        },
        imports: { default: trappable },
    });
}
