//! Calls into token-type plugins (`enroll`, `check`, `resync`) and the conversions between the
//! public types and the generated WIT types. Keys travel as host-held `secret` resources.

use wasmtime::Store;
use wasmtime::component::Resource;
use zeroize::Zeroizing;

use crate::bindings::SecretKey;
use crate::bindings::token::TokenPlugin;
use crate::bindings::token::exports::tessera::plugin::token as wit;
use crate::loader::TokenEntry;
use crate::runtime::{Runtime, call};
use crate::state::HostState;
use crate::trap::plugin_error;
use crate::{
    CallError, CheckOutcome, CheckRequest, DetailEntry, EnrollRequest, Enrollment, ParamSpec,
    ResyncRequest, TokenState, TokenTypeInfo,
};

pub(crate) fn type_info(d: wit::TypeInfo) -> TokenTypeInfo {
    TokenTypeInfo {
        type_name: d.type_name,
        serial_prefix: d.serial_prefix,
        description: d.description,
        enroll_params: d
            .enroll_params
            .into_iter()
            .map(|p| ParamSpec {
                name: p.name,
                description: p.description,
                required: p.required,
            })
            .collect(),
        challenge_response: d.challenge_response,
    }
}

fn state_to_wit(s: TokenState) -> wit::TokenState {
    wit::TokenState {
        counter: s.counter,
        otplen: s.otplen,
        info: s.info.into_iter().collect(),
    }
}

fn state_from_wit(s: wit::TokenState) -> TokenState {
    TokenState {
        counter: s.counter,
        otplen: s.otplen,
        info: s.info.into_iter().collect(),
    }
}

/// Replace `{secret-hex}` and `{secret-base32}` with the key (empty if there is none).
fn fill_secret(value: &str, key: Option<&[u8]>) -> String {
    if !value.contains("{secret-") {
        return value.to_string();
    }
    let (hex, b32) = match key {
        Some(k) => (
            Zeroizing::new(hex::encode(k)),
            Zeroizing::new(data_encoding::BASE32_NOPAD.encode(k)),
        ),
        None => (Zeroizing::new(String::new()), Zeroizing::new(String::new())),
    };
    value
        .replace("{secret-hex}", &hex)
        .replace("{secret-base32}", &b32)
}

/// Push `key` into the store's table for the duration of `f`, passing `f` a borrow of it.
fn with_borrowed_key<R>(
    store: &mut Store<HostState>,
    key: &[u8],
    f: impl FnOnce(&mut Store<HostState>, Resource<SecretKey>) -> wasmtime::Result<R>,
) -> wasmtime::Result<R> {
    let own = store.data_mut().table.push(SecretKey {
        key: Zeroizing::new(key.to_vec()),
    })?;
    let r = f(store, Resource::new_borrow(own.rep()));
    store.data_mut().table.delete(own)?;
    r
}

impl Runtime {
    fn token(&self, ttype: &str) -> Result<&TokenEntry, CallError> {
        self.tokens
            .get(ttype)
            .ok_or_else(|| CallError::UnknownType(ttype.to_string()))
    }

    /// Call a token plugin; `serial` is the isolation key for warm instances (`None`: fresh).
    fn token_call<R>(
        &self,
        p: &TokenEntry,
        serial: Option<&str>,
        body: impl FnOnce(&mut Store<HostState>, &TokenPlugin) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let warm = serial.and_then(|s| self.warm_slot(&self.token_pool, s));
        call(
            &self.engine,
            &p.common,
            warm,
            || p.new_state(),
            |s| p.pre.instantiate(s),
            body,
        )
    }

    /// Enroll a token (always on a fresh instance). The `otpkey`, if any, is handed to the
    /// plugin as an owned `secret`; the key the plugin returns comes back in clear in
    /// `Enrollment::key`, and the detail placeholders are filled with it.
    pub fn enroll(&self, ttype: &str, req: EnrollRequest) -> Result<Enrollment, CallError> {
        let p = self.token(ttype)?;
        let result = self.token_call(p, None, |store, inst| {
            let otpkey = match req.otpkey {
                Some(key) => Some(store.data_mut().table.push(SecretKey { key })?),
                None => None,
            };
            let wreq = wit::EnrollRequest {
                serial: req.serial,
                params: req.params,
                otpkey,
                username: req.username,
                issuer: req.issuer,
                now: req.now,
            };
            match inst
                .tessera_plugin_token()
                .call_enroll(&mut *store, &wreq)?
            {
                Ok(e) => {
                    let key = match e.key {
                        Some(r) => Some(store.data_mut().table.delete(r)?.key),
                        None => None,
                    };
                    Ok(Ok((e.state, key, e.detail)))
                }
                Err(pe) => Ok(Err(pe)),
            }
        })?;
        let (state, key, detail) = result.map_err(plugin_error)?;
        let detail = detail
            .into_iter()
            .map(|d| DetailEntry {
                key: d.key,
                fields: d
                    .fields
                    .into_iter()
                    .map(|(k, v)| {
                        let v = fill_secret(&v, key.as_deref().map(|k| k.as_slice()));
                        (k, v)
                    })
                    .collect(),
                qr_field: d.qr_field,
            })
            .collect();
        Ok(Enrollment {
            state: state_from_wit(state),
            key,
            detail,
        })
    }

    /// Check one OTP against token `serial`.
    pub fn check(
        &self,
        ttype: &str,
        serial: &str,
        req: CheckRequest<'_>,
    ) -> Result<CheckOutcome, CallError> {
        let p = self.token(ttype)?;
        let outcome = self.token_call(p, Some(serial), |store, inst| {
            with_borrowed_key(store, req.key, |store, key| {
                let wreq = wit::CheckRequest {
                    key,
                    state: state_to_wit(req.state),
                    otp: req.otp,
                    now: req.now,
                    window: req.window,
                };
                inst.tessera_plugin_token().call_check(&mut *store, &wreq)
            })
        })?;
        Ok(match outcome.map_err(plugin_error)? {
            wit::CheckOutcome::NoMatch => CheckOutcome::NoMatch,
            wit::CheckOutcome::Replayed => CheckOutcome::Replayed,
            wit::CheckOutcome::Matched(s) => CheckOutcome::Matched(state_from_wit(s)),
        })
    }

    /// Resynchronise token `serial` with two consecutive OTPs; the new state if they were found.
    pub fn resync(
        &self,
        ttype: &str,
        serial: &str,
        req: ResyncRequest<'_>,
    ) -> Result<Option<TokenState>, CallError> {
        let p = self.token(ttype)?;
        let r = self.token_call(p, Some(serial), |store, inst| {
            with_borrowed_key(store, req.key, |store, key| {
                let wreq = wit::ResyncRequest {
                    key,
                    state: state_to_wit(req.state),
                    otp1: req.otp1,
                    otp2: req.otp2,
                    now: req.now,
                    window: req.window,
                };
                inst.tessera_plugin_token().call_resync(&mut *store, &wreq)
            })
        })?;
        Ok(r.map_err(plugin_error)?.map(state_from_wit))
    }
}

#[cfg(test)]
mod tests {
    use super::fill_secret;

    #[test]
    fn placeholders_are_filled_or_removed() {
        let key = b"12345678901234567890";
        assert_eq!(
            fill_secret(
                "otpauth://hotp/x?secret={secret-base32}&h={secret-hex}",
                Some(key)
            ),
            "otpauth://hotp/x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&h=3132333435363738393031323334353637383930"
        );
        // RFC 4648 §10: base32 without padding.
        assert_eq!(fill_secret("{secret-base32}", Some(b"fo")), "MZXQ");
        assert_eq!(fill_secret("a{secret-hex}b{secret-base32}c", None), "abc");
        assert_eq!(fill_secret("plain", None), "plain");
    }
}
