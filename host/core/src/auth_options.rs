//! The authentication-scope policy values one `/validate/check` needs, resolved once per request
//! from the policies that match the request's realm, resolver, user and client.

use std::net::IpAddr;

use tessera_proto::PiError;

use crate::Tessera;

/// privacyIDEA's `otppin`: what the PIN part of a pass is checked against.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OtpPin {
    /// The token's own PIN (the default).
    #[default]
    TokenPin,
    /// The user's password in the user store.
    UserStore,
    /// No PIN: the PIN part must be empty.
    None,
}

/// What the matching authentication policies say. Each `Option<String>` holds the name of the
/// policy that switched the behaviour on (privacyIDEA names it in messages and the audit log).
#[derive(Clone, Debug, Default)]
pub(crate) struct AuthOptions {
    pub otppin: OtpPin,
    pub passthru: Option<String>,
    pub pass_on_no_token: Option<String>,
    pub pass_on_no_user: Option<String>,
    /// Token types that answer a PIN alone with a challenge (lower case).
    pub challenge_types: Vec<String>,
    pub challenge_text: Option<String>,
    pub reset_all_user_tokens: bool,
    pub increase_failcounter_on_challenge: bool,
    /// Minutes after which a token locked by its fail counter may try again (0 = never).
    pub failcounter_clear_timeout: u64,
    /// Names of the policies that contributed, for the audit log.
    pub policies: Vec<String>,
}

/// Who is asking, as policies see it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PolicyContext<'a> {
    pub realm: Option<&'a str>,
    pub resolver: Option<&'a str>,
    pub user: Option<&'a str>,
    pub client: Option<IpAddr>,
}

impl Tessera {
    /// The authentication options for a request.
    pub(crate) fn auth_options(&self, _ctx: &PolicyContext<'_>) -> Result<AuthOptions, PiError> {
        Ok(AuthOptions::default())
    }
}
