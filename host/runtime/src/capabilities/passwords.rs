//! Capability `passwords`: password hash verification done natively by the host (crypt SHA-512
//! and SHA-256, argon2id and argon2i). Work factors are capped so that a plugin cannot hold a
//! host thread for long with one import call (host code is not interrupted by the epoch deadline).

use argon2::password_hash::PasswordHash;
use argon2::{Argon2, PasswordVerifier};

use crate::bindings::resolver::tessera::plugin::passwords;
use crate::bindings::token::tessera::plugin::types::{ErrorCode, PluginError};
use crate::state::HostState;

/// Most rounds accepted in a `$5$`/`$6$` hash (glibc's default is 5000).
const MAX_CRYPT_ROUNDS: u64 = 1_000_000;
/// Most memory accepted in an argon2 hash, in KiB (256 MiB).
const MAX_ARGON2_M_COST: u32 = 256 * 1024;
/// Most passes accepted in an argon2 hash.
const MAX_ARGON2_T_COST: u32 = 32;

/// Whether `password` matches `hash`.
pub(crate) fn verify(hash: &str, password: &str) -> Result<bool, PluginError> {
    if hash.starts_with("$6$") || hash.starts_with("$5$") {
        return verify_crypt(hash, password);
    }
    if hash.starts_with("$argon2id$") || hash.starts_with("$argon2i$") {
        let parsed = PasswordHash::new(hash).map_err(|e| malformed("argon2", &e.to_string()))?;
        let m = param(&parsed, "m");
        let t = param(&parsed, "t");
        if m > MAX_ARGON2_M_COST || t > MAX_ARGON2_T_COST {
            return Err(PluginError {
                code: ErrorCode::NotSupported,
                message: format!(
                    "argon2 cost m={m} t={t} is above the host's limit (m<={MAX_ARGON2_M_COST}, t<={MAX_ARGON2_T_COST})"
                ),
            });
        }
        return match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(malformed("argon2", &e.to_string())),
        };
    }
    let scheme = match scheme_of(hash) {
        Some(s) => format!("`{s}`"),
        None => "without a `$id$` prefix".to_string(),
    };
    Err(PluginError {
        code: ErrorCode::NotSupported,
        message: format!(
            "unsupported password hash format {scheme} (supported: $6$, $5$, $argon2id$, $argon2i$)"
        ),
    })
}

/// The `$id$` part of a modular-crypt hash, if there is one.
fn scheme_of(hash: &str) -> Option<&str> {
    let rest = hash.strip_prefix('$')?;
    let end = rest.find('$')?;
    Some(&hash[..end + 2])
}

fn param(hash: &PasswordHash<'_>, name: &str) -> u32 {
    hash.params.get_decimal(name).unwrap_or(0)
}

/// crypt SHA-512 / SHA-256: `$6$[rounds=N$]salt$hash`.
fn verify_crypt(hash: &str, password: &str) -> Result<bool, PluginError> {
    let (scheme, rest) = hash.split_at(3);
    let mut parts = rest.split('$');
    let first = parts.next().unwrap_or_default();
    let (rounds, salt) = match first.strip_prefix("rounds=") {
        Some(r) => {
            let r = r
                .parse::<u64>()
                .map_err(|_| malformed(scheme, "rounds is not a number"))?;
            (r, parts.next().ok_or_else(|| malformed(scheme, "no salt"))?)
        }
        None => (sha_crypt::ROUNDS_DEFAULT as u64, first),
    };
    let expected = parts.next().ok_or_else(|| malformed(scheme, "no hash"))?;
    if parts.next().is_some() {
        return Err(malformed(scheme, "trailing fields"));
    }
    if rounds > MAX_CRYPT_ROUNDS {
        return Err(PluginError {
            code: ErrorCode::NotSupported,
            message: format!(
                "crypt rounds={rounds} is above the host's limit of {MAX_CRYPT_ROUNDS}"
            ),
        });
    }
    // Like glibc, clamp a small round count up to the minimum.
    let rounds = usize::try_from(rounds)
        .unwrap_or(usize::MAX)
        .max(sha_crypt::ROUNDS_MIN);
    let computed = if scheme == "$6$" {
        sha_crypt::Sha512Params::new(rounds)
            .and_then(|p| sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &p))
    } else {
        sha_crypt::Sha256Params::new(rounds)
            .and_then(|p| sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &p))
    }
    .map_err(|e| malformed(scheme, &format!("{e:?}")))?;
    Ok(constant_time_eq(computed.as_bytes(), expected.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn malformed(scheme: &str, why: &str) -> PluginError {
    PluginError {
        code: ErrorCode::NotSupported,
        message: format!("malformed {scheme} password hash: {why}"),
    }
}

impl passwords::Host for HostState {
    fn verify(
        &mut self,
        hash: String,
        password: String,
    ) -> wasmtime::Result<Result<bool, PluginError>> {
        Ok(verify(&hash, &password))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;

    fn check(hash: &str, password: &str, expected: Result<bool, ErrorCode>) {
        let got = verify(hash, password).map_err(|e| e.code);
        assert_eq!(got, expected, "verify({hash:?}, {password:?})");
    }

    #[test]
    fn crypt_hashes() {
        // `openssl passwd -6 -salt saltsalt secret` and `openssl passwd -5 -salt saltsalt secret`
        let sha512 = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";
        let sha256 = "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA";
        check(sha512, "secret", Ok(true));
        check(sha512, "Secret", Ok(false));
        check(sha256, "secret", Ok(true));
        check(sha256, "wrong", Ok(false));
        // Test vector from Drepper's SHA-crypt specification, with explicit rounds.
        check(
            "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
            "This is just a test",
            Ok(true),
        );
        check(
            "$6$rounds=99999999$salt$abc",
            "x",
            Err(ErrorCode::NotSupported),
        );
        check("$6$salt", "x", Err(ErrorCode::NotSupported));
        check("$6$rounds=x$salt$abc", "x", Err(ErrorCode::NotSupported));
        check("$6$salt$abc$def", "x", Err(ErrorCode::NotSupported));
        check("$6$saltsalt$short", "secret", Ok(false));
    }

    #[test]
    fn argon2_hashes() {
        for alg in [argon2::Algorithm::Argon2id, argon2::Algorithm::Argon2i] {
            let hasher = Argon2::new(
                alg,
                argon2::Version::V0x13,
                argon2::Params::new(1024, 1, 1, None).unwrap(),
            );
            let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
            let hash = hasher.hash_password(b"hunter2", &salt).unwrap().to_string();
            check(&hash, "hunter2", Ok(true));
            check(&hash, "hunter3", Ok(false));
        }
    }

    #[test]
    fn other_formats_are_not_supported() {
        check(
            "$1$saltsalt$abcdefghijklmnopqrstuv",
            "x",
            Err(ErrorCode::NotSupported),
        );
        check(
            "$2b$12$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzabcde",
            "x",
            Err(ErrorCode::NotSupported),
        );
        check("plaintext", "plaintext", Err(ErrorCode::NotSupported));
        check("", "", Err(ErrorCode::NotSupported));
        let e = verify("$1$x$y", "x").unwrap_err();
        assert!(e.message.contains("`$1$`"), "{}", e.message);
    }
}
