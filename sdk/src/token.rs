//! Token-type plugins (world `token-plugin`): the generated types under short names, the host's
//! key store, and small helpers. Export an implementation of [`Guest`] with
//! [`export_token!`](crate::export_token).

use crate::oath::{Hashlib, HmacKey};
use crate::{Pairs, Params, PluginError};

/// The generated bindings of the `token-plugin` world (used by the export macro).
#[doc(hidden)]
#[allow(
    missing_docs,
    unsafe_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used
)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "tessera:plugin/token-plugin@0.1.0",
        with: {
            "tessera:plugin/types@0.1.0": crate::bindings::types,
            "tessera:plugin/host@0.1.0": crate::bindings::host,
        },
        pub_export_macro: true,
        export_macro_name: "export_token_world",
        default_bindings_module: "tessera_sdk::token::bindings",
    });
}

pub use bindings::exports::tessera::plugin::token::{
    CheckOutcome, CheckRequest, DetailEntry, EnrollRequest, Enrollment, Guest, ParamSpec,
    ResyncRequest, TokenState, TypeInfo,
};
pub use bindings::tessera::plugin::keystore::{HashAlg, Secret};

/// A fresh random key of `len` bytes, generated and kept by the host (`keystore.generate`).
pub fn generate_key(len: u32) -> Result<Secret, PluginError> {
    bindings::tessera::plugin::keystore::generate(len)
}

/// The key passed in with `otpkey`, or else a fresh one of `len` bytes (`genkey=1`).
pub fn key_or_generate(otpkey: Option<Secret>, len: u32) -> Result<Secret, PluginError> {
    match otpkey {
        Some(key) => Ok(key),
        None => generate_key(len),
    }
}

impl From<Hashlib> for HashAlg {
    fn from(h: Hashlib) -> Self {
        match h {
            Hashlib::Sha1 => HashAlg::Sha1,
            Hashlib::Sha256 => HashAlg::Sha256,
            Hashlib::Sha512 => HashAlg::Sha512,
        }
    }
}

impl HmacKey for Secret {
    fn hmac(&self, alg: Hashlib, data: &[u8]) -> Vec<u8> {
        Secret::hmac(self, alg.into(), data)
    }
}

impl TypeInfo {
    /// A token type without enrollment parameters of its own and without challenge-response;
    /// add parameters with [`TypeInfo::with_params`].
    pub fn new(type_name: &str, serial_prefix: &str, description: &str) -> Self {
        TypeInfo {
            type_name: type_name.to_owned(),
            serial_prefix: serial_prefix.to_owned(),
            description: description.to_owned(),
            enroll_params: Vec::new(),
            challenge_response: false,
        }
    }

    /// The same type with these enrollment parameters.
    pub fn with_params(self, enroll_params: Vec<ParamSpec>) -> Self {
        TypeInfo {
            enroll_params,
            ..self
        }
    }
}

impl Enrollment {
    /// An enrollment with this initial state, key and `/token/init` detail entries.
    pub fn new(state: TokenState, key: Secret, detail: Vec<DetailEntry>) -> Self {
        Enrollment {
            state,
            key: Some(key),
            detail,
        }
    }
}

impl ParamSpec {
    /// An optional enrollment parameter.
    pub fn optional(name: &str, description: &str) -> Self {
        ParamSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            required: false,
        }
    }

    /// A required enrollment parameter.
    pub fn required(name: &str, description: &str) -> Self {
        ParamSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            required: true,
        }
    }
}

impl TokenState {
    /// A state with `counter`, `otplen` and `info`.
    pub fn new(counter: u64, otplen: u32, info: Pairs) -> Self {
        TokenState {
            counter,
            otplen,
            info,
        }
    }

    /// Lookups over the token info.
    pub fn info(&self) -> Params<'_> {
        Params::new(&self.info)
    }

    /// Set one token info entry (replacing an existing one).
    pub fn set_info(&mut self, key: &str, value: impl Into<String>) {
        crate::set_pair(&mut self.info, key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_state_info_helpers() {
        let mut s = TokenState::new(3, 6, vec![("hashlib".into(), "sha1".into())]);
        s.set_info("timeShift", "0.0");
        s.set_info("hashlib", "sha256");
        assert_eq!(s.info().get("hashlib"), Some("sha256"));
        assert_eq!(s.info().get("timeShift"), Some("0.0"));
        assert_eq!(s.info.len(), 2);
    }

    #[test]
    fn hash_names_map_to_the_wit_enum() {
        assert_eq!(HashAlg::from(Hashlib::Sha512), HashAlg::Sha512);
    }
}
