//! `tessera-sdk`: write Tessera token types and user resolvers as WebAssembly components.
//!
//! A plugin crate depends on this crate with exactly one feature, `token` or `resolver`, builds
//! as a `cdylib` for `wasm32-wasip2`, implements the world's `Guest` trait and exports it:
//!
//! ```ignore
//! use tessera_sdk::token::{CheckOutcome, CheckRequest, Enrollment, EnrollRequest, Guest,
//!     ResyncRequest, TokenState, TypeInfo};
//! use tessera_sdk::PluginError;
//!
//! struct MyType;
//! impl Guest for MyType { /* describe, enroll, check, resync */ }
//! tessera_sdk::export_token!(MyType);
//! ```
//!
//! The WIT in `sdk/wit/` is the contract; this crate generates its bindings, re-exports them
//! under short paths ([`token`], [`resolver`]) and adds helpers: [`Params`] for request
//! parameters and configuration, [`PluginError`] constructors, [`log`], the RFC 4226/6238
//! algorithms in [`oath`] (computed with the host-held key, so the plugin never sees key bytes),
//! and a panic hook that sends the panic message to the host log before the instance traps.
//!
//! The helpers that do not call the host are plain Rust and are unit-tested natively.
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

#[cfg(all(target_arch = "wasm32", feature = "token", feature = "resolver"))]
compile_error!(
    "tessera-sdk: enable exactly one of the features `token` and `resolver` when building a \
     plugin (build token and resolver plugins in separate cargo invocations)"
);

mod bindings;
mod error;
pub mod glob;
pub mod log;
pub mod oath;
mod params;
#[cfg(feature = "resolver")]
pub mod resolver;
#[cfg(feature = "token")]
pub mod token;

pub use bindings::types::{ErrorCode, LogLevel, PluginError};
pub use params::Params;

/// Ordered key/value pairs (WIT `pairs`): request parameters, token info, resolver configuration.
pub type Pairs = Vec<(String, String)>;

/// Set `key` to `value` in `pairs`: replaces the first entry with that key, or appends one.
pub fn set_pair(pairs: &mut Pairs, key: &str, value: impl Into<String>) {
    let value = value.into();
    match pairs.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value,
        None => pairs.push((key.to_owned(), value)),
    }
}

/// Used by the export macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::log::install_panic_hook;
}

/// Export a type implementing [`token::Guest`] as this component's token type.
///
/// Every exported call first installs the SDK's panic hook (once per instance), so a panic
/// reaches the host log as an `error` line before the instance traps.
#[cfg(feature = "token")]
#[macro_export]
macro_rules! export_token {
    ($ty:ty) => {
        #[allow(unsafe_code)]
        const _: () = {
            #[allow(dead_code)] // natively nothing is exported, so nothing constructs it
            struct __TesseraTokenExport;
            impl $crate::token::Guest for __TesseraTokenExport {
                fn describe() -> $crate::token::TypeInfo {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::token::Guest>::describe()
                }
                fn enroll(
                    req: $crate::token::EnrollRequest,
                ) -> ::core::result::Result<$crate::token::Enrollment, $crate::PluginError>
                {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::token::Guest>::enroll(req)
                }
                fn check(
                    req: $crate::token::CheckRequest<'_>,
                ) -> ::core::result::Result<$crate::token::CheckOutcome, $crate::PluginError>
                {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::token::Guest>::check(req)
                }
                fn resync(
                    req: $crate::token::ResyncRequest<'_>,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::token::TokenState>,
                    $crate::PluginError,
                > {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::token::Guest>::resync(req)
                }
            }
            // Native linkers reject the component export names (`tessera:plugin/token@0.1.0#check`);
            // natively the crate is only unit-tested, so the exports exist on wasm32 only.
            #[cfg(target_arch = "wasm32")]
            $crate::token::bindings::export_token_world!(
                __TesseraTokenExport with_types_in $crate::token::bindings
            );
        };
    };
}

/// Export a type implementing [`resolver::Guest`] as this component's user resolver.
///
/// Every exported call first installs the SDK's panic hook (once per instance), so a panic
/// reaches the host log as an `error` line before the instance traps.
#[cfg(feature = "resolver")]
#[macro_export]
macro_rules! export_resolver {
    ($ty:ty) => {
        #[allow(unsafe_code)]
        const _: () = {
            #[allow(dead_code)] // natively nothing is exported, so nothing constructs it
            struct __TesseraResolverExport;
            impl $crate::resolver::Guest for __TesseraResolverExport {
                fn describe() -> $crate::resolver::ResolverInfo {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::resolver::Guest>::describe()
                }
                fn test_config(
                    config: $crate::Pairs,
                ) -> ::core::result::Result<u64, $crate::PluginError> {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::resolver::Guest>::test_config(config)
                }
                fn get_user_id(
                    config: $crate::Pairs,
                    login: ::std::string::String,
                ) -> ::core::result::Result<
                    ::core::option::Option<::std::string::String>,
                    $crate::PluginError,
                > {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::resolver::Guest>::get_user_id(config, login)
                }
                fn get_user(
                    config: $crate::Pairs,
                    userid: ::std::string::String,
                ) -> ::core::result::Result<
                    ::core::option::Option<$crate::resolver::UserInfo>,
                    $crate::PluginError,
                > {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::resolver::Guest>::get_user(config, userid)
                }
                fn list_users(
                    config: $crate::Pairs,
                    filter: $crate::Pairs,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<$crate::resolver::UserInfo>,
                    $crate::PluginError,
                > {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::resolver::Guest>::list_users(config, filter)
                }
                fn check_password(
                    config: $crate::Pairs,
                    userid: ::std::string::String,
                    password: ::std::string::String,
                ) -> ::core::result::Result<bool, $crate::PluginError> {
                    $crate::__private::install_panic_hook();
                    <$ty as $crate::resolver::Guest>::check_password(config, userid, password)
                }
            }
            #[cfg(target_arch = "wasm32")]
            $crate::resolver::bindings::export_resolver_world!(
                __TesseraResolverExport with_types_in $crate::resolver::bindings
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_pair_replaces_or_appends() {
        let mut pairs: Pairs = vec![("a".into(), "1".into())];
        set_pair(&mut pairs, "a", "2");
        set_pair(&mut pairs, "b", "3");
        assert_eq!(
            pairs,
            vec![("a".into(), "2".into()), ("b".into(), "3".into())]
        );
    }
}
