//! The API's bearer tokens: HS256 JWTs as privacyIDEA issues them (`/auth`), verified with privacyIDEA's messages.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tessera_proto::{ErrorKind, PiError};

type HmacSha256 = Hmac<Sha256>;

/// URL-safe base64: written without padding, read with or without it.
const B64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The header privacyIDEA's JWTs carry, in the same key order.
const HEADER_JSON: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

/// Who may call what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
}

/// The claims of a token; field order is privacyIDEA's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub username: String,
    /// Empty for local administrators.
    pub realm: String,
    /// Random, so that two logins in the same second get different tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub role: Role,
    /// How the caller logged in (`password`).
    pub authtype: String,
    /// Expiry, unix seconds.
    pub exp: u64,
}

/// Signs `claims` with `secret` (HS256).
pub fn issue(secret: &[u8], claims: &Claims) -> String {
    // Claims are strings, an enum and an integer: serializing them cannot fail.
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let mut token = String::with_capacity(64 + payload.len() * 4 / 3 + 44);
    B64.encode_string(HEADER_JSON, &mut token);
    token.push('.');
    B64.encode_string(&payload, &mut token);
    let signature = mac(secret, token.as_bytes()).finalize().into_bytes();
    token.push('.');
    B64.encode_string(signature, &mut token);
    token
}

/// Checks the signature and expiry of `token` at unix time `now` and returns its claims.
///
/// Errors are privacyIDEA's: 4304 (cannot be decoded, or wrong signature) and 4305 (expired).
pub fn verify(secret: &[u8], token: &str, now: f64) -> Result<Claims, PiError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(decoding("Not enough segments"));
    };
    let header_bytes = B64
        .decode(header)
        .map_err(|_| decoding("Invalid header padding"))?;
    let header_json: serde_json::Value = serde_json::from_slice(&header_bytes)
        .map_err(|e| decoding(&format!("Invalid header string: {e}")))?;
    match header_json.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => {}
        Some(_) => return Err(decoding("The specified alg value is not allowed")),
        None => return Err(decoding("Invalid header string: missing 'alg'")),
    }
    let signature = B64
        .decode(signature)
        .map_err(|_| decoding("Invalid crypto padding"))?;
    let signed_len = header.len() + 1 + payload.len();
    // `verify_slice` compares in constant time.
    mac(secret, &token.as_bytes()[..signed_len])
        .verify_slice(&signature)
        .map_err(|_| decoding("Signature verification failed"))?;
    let payload = B64
        .decode(payload)
        .map_err(|_| decoding("Invalid payload padding"))?;
    let claims: Claims = serde_json::from_slice(&payload)
        .map_err(|e| decoding(&format!("Invalid payload string: {e}")))?;
    if claims.exp as f64 <= now {
        return Err(PiError::new(
            ErrorKind::AuthExpired,
            "Authentication failure. Your token has expired: Signature has expired",
        ));
    }
    Ok(claims)
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    #[allow(clippy::expect_used)]
    let mut m = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    m.update(data);
    m
}

fn decoding(reason: &str) -> PiError {
    PiError::new(
        ErrorKind::AuthDecoding,
        format!("Authentication failure. Error during decoding your token: {reason}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"tessera test secret";

    fn admin(exp: u64) -> Claims {
        Claims {
            username: "admin".into(),
            realm: String::new(),
            nonce: Some("e28d83fab56da84df6b2cce19886ce62180e72a1".into()),
            role: Role::Admin,
            authtype: "password".into(),
            exp,
        }
    }

    #[test]
    fn issued_token_verifies_and_has_privacyidea_shape() {
        let token = issue(SECRET, &admin(2_000_000_000));
        // the header segment of 01-auth-admin.json
        assert!(
            token.starts_with("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."),
            "{token}"
        );
        assert!(!token.contains('='));
        let payload: serde_json::Value =
            serde_json::from_slice(&B64.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
        assert_eq!(payload["role"], "admin");
        assert_eq!(payload["authtype"], "password");
        assert_eq!(payload["exp"], 2_000_000_000u64);
        assert_eq!(
            verify(SECRET, &token, 1_999_999_999.5),
            Ok(admin(2_000_000_000))
        );
    }

    /// Tokens made independently with Python (`hmac.new(b"secret", msg, sha256)`, base64url without padding).
    #[test]
    fn signature_matches_an_independent_hs256() {
        let claims = Claims {
            nonce: None,
            ..admin(9_999_999_999)
        };
        assert_eq!(
            issue(b"secret", &claims),
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ1c2VybmFtZSI6ImFkbWluIiwicmVhbG0iOiIiLCJyb2xlIjoiYWRtaW4iLCJhdXRodHlwZSI6InBhc3N3b3JkIiwiZXhwIjo5OTk5OTk5OTk5fQ.DQ2yTxy3O02OBBpduzVum9RtTOTqWE6V1p77EkzvFwM"
        );
        // json.dumps spacing and an extra `rights` claim, as privacyIDEA writes them (payload of 04b)
        let python = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJ1c2VybmFtZSI6ICJhZG1pbiIsICJyZWFsbSI6ICIiLCAicm9sZSI6ICJhZG1pbiIsICJhdXRodHlwZSI6ICJwYXNzd29yZCIsICJleHAiOiA5OTk5OTk5OTk5LCAicmlnaHRzIjogW119.b_dhPvMVLirCVX4WNCgw8T-sV6cHZHbCzFeYk40k77k";
        assert_eq!(verify(b"secret", python, 1.8e9), Ok(claims));
        // 04b-jwt-wrong-signature.json: the same claims signed with a secret we do not have
        let captured = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9.eyJ1c2VybmFtZSI6ICJhZG1pbiIsICJyZWFsbSI6ICIiLCAicm9sZSI6ICJhZG1pbiIsICJhdXRodHlwZSI6ICJwYXNzd29yZCIsICJleHAiOiA5OTk5OTk5OTk5LCAicmlnaHRzIjogW119.bDgZmU_qUGc_Vd_OclSM777hGHalI5sEUoVRetG5Suw";
        let err = verify(b"secret", captured, 1.8e9).unwrap_err();
        assert_eq!(
            err.message,
            "Authentication failure. Error during decoding your token: Signature verification failed"
        );
    }

    /// `token` fails with `kind` and exactly `message`.
    fn check(token: &str, now: f64, kind: ErrorKind, message: &str) {
        let err = verify(SECRET, token, now).unwrap_err();
        assert_eq!((err.kind, err.message.as_str()), (kind, message), "{token}");
    }

    #[test]
    fn privacyidea_messages() {
        // 04b: a token signed with another secret
        let foreign = issue(b"another secret", &admin(9_999_999_999));
        let sig = "Authentication failure. Error during decoding your token: Signature verification failed";
        check(&foreign, 0.0, ErrorKind::AuthDecoding, sig);
        // 04c: expired (exp 1000)
        let old = issue(SECRET, &admin(1000));
        let expired = "Authentication failure. Your token has expired: Signature has expired";
        check(&old, 1000.0, ErrorKind::AuthExpired, expired);
        check(&old, 5000.0, ErrorKind::AuthExpired, expired);
        assert!(verify(SECRET, &old, 999.9).is_ok());
    }

    #[test]
    fn garbage_is_a_401_not_a_500() {
        let prefix = "Authentication failure. Error during decoding your token: ";
        check(
            "not.a.jwt",
            0.0,
            ErrorKind::AuthDecoding,
            &format!("{prefix}Invalid header padding"),
        );
        check(
            "nodots",
            0.0,
            ErrorKind::AuthDecoding,
            &format!("{prefix}Not enough segments"),
        );
        check(
            "a.b.c.d",
            0.0,
            ErrorKind::AuthDecoding,
            &format!("{prefix}Not enough segments"),
        );
        let good = issue(SECRET, &admin(9_999_999_999));
        let (head, rest) = good.split_once('.').unwrap();
        let (payload, _) = rest.split_once('.').unwrap();
        // alg "none" with no signature
        let none = format!("{}.{payload}.", B64.encode(r#"{"alg":"none"}"#));
        check(
            &none,
            0.0,
            ErrorKind::AuthDecoding,
            &format!("{prefix}The specified alg value is not allowed"),
        );
        // a valid signature over a payload that is not our claims
        let odd = B64.encode(r#"{"sub":"x"}"#);
        let signing_input = format!("{head}.{odd}");
        let sig = B64.encode(
            mac(SECRET, signing_input.as_bytes())
                .finalize()
                .into_bytes(),
        );
        let err = verify(SECRET, &format!("{signing_input}.{sig}"), 0.0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::AuthDecoding);
        assert!(
            err.message
                .starts_with(&format!("{prefix}Invalid payload string")),
            "{}",
            err.message
        );
        // a tampered payload with the original signature
        let tampered = good.replacen(payload, &B64.encode(br#"{"username":"root"}"#), 1);
        check(
            &tampered,
            0.0,
            ErrorKind::AuthDecoding,
            &format!("{prefix}Signature verification failed"),
        );
    }
}
