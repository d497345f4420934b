//! Capability `keystore`: secret keys held by the host. A plugin gets `secret` handles and asks
//! for HMACs; the key bytes never enter its memory.

use hmac::digest::{InvalidLength, KeyInit};
use hmac::{Hmac, Mac};
use rand::RngCore;
use wasmtime::component::Resource;
use zeroize::Zeroizing;

use crate::bindings::SecretKey;
use crate::bindings::token::tessera::plugin::keystore::{self, HashAlg};
use crate::bindings::token::tessera::plugin::types::{ErrorCode, PluginError};
use crate::state::HostState;

/// Largest key `generate` hands out, in bytes.
const MAX_GENERATED_KEY: u32 = 128;

/// HMAC of `data` under `key` (RFC 2104). HMAC accepts keys of every length, so the error case
/// does not happen with these hashes; it is passed on rather than assumed away.
pub(crate) fn hmac(
    alg: HashAlg,
    key: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, hmac::digest::InvalidLength> {
    fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Result<Vec<u8>, InvalidLength> {
        let mut mac = <M as KeyInit>::new_from_slice(key)?;
        mac.update(data);
        Ok(mac.finalize().into_bytes().to_vec())
    }
    match alg {
        HashAlg::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
        HashAlg::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
        HashAlg::Sha512 => run::<Hmac<sha2::Sha512>>(key, data),
    }
}

impl keystore::HostSecret for HostState {
    fn hmac(
        &mut self,
        this: Resource<SecretKey>,
        alg: HashAlg,
        data: Vec<u8>,
    ) -> wasmtime::Result<Vec<u8>> {
        let secret = self.table.get(&this)?;
        hmac(alg, &secret.key, &data).map_err(|e| wasmtime::format_err!("hmac: {e}"))
    }

    fn len(&mut self, this: Resource<SecretKey>) -> wasmtime::Result<u32> {
        let secret = self.table.get(&this)?;
        Ok(u32::try_from(secret.key.len()).unwrap_or(u32::MAX))
    }

    fn drop(&mut self, this: Resource<SecretKey>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl keystore::Host for HostState {
    fn generate(&mut self, len: u32) -> wasmtime::Result<Result<Resource<SecretKey>, PluginError>> {
        if len == 0 || len > MAX_GENERATED_KEY {
            return Ok(Err(PluginError {
                code: ErrorCode::BadParameter,
                message: format!("key length {len} is out of range (1..={MAX_GENERATED_KEY})"),
            }));
        }
        let mut key = Zeroizing::new(vec![0u8; len as usize]);
        rand::rngs::OsRng.fill_bytes(&mut key);
        Ok(Ok(self.table.push(SecretKey { key })?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?"
        let data = b"what do ya want for nothing?";
        assert_eq!(
            hex::encode(hmac(HashAlg::Sha256, b"Jefe", data).unwrap()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex::encode(hmac(HashAlg::Sha1, b"Jefe", data).unwrap()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" // RFC 2202 test case 2
        );
        assert_eq!(hmac(HashAlg::Sha512, b"Jefe", data).unwrap().len(), 64);
    }
}
