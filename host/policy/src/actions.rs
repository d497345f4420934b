//! The static action tables, one per scope, with privacyIDEA's names and groups.
//! Token-type dependent actions (`enrollHOTP`, `hotp_otplen` ...) are added by `Catalogue::new`.
//! Rows wrapped in `unsupported(..)` are privacyIDEA actions that nothing in Tessera enforces yet:
//! they stay listed (marked) in `GET /policy/defs` and `POST /policy` refuses them.

use crate::catalogue::{ActionKind, Check};

/// One row of a static table.
pub(crate) struct Static {
    pub name: &'static str,
    pub kind: ActionKind,
    pub check: Check,
    pub group: &'static str,
    pub desc: &'static str,
    /// Whether Tessera enforces the action; `POST /policy` refuses the ones it does not.
    pub supported: bool,
}

const fn row(
    name: &'static str,
    kind: ActionKind,
    group: &'static str,
    desc: &'static str,
) -> Static {
    Static {
        name,
        kind,
        check: Check::None,
        group,
        desc,
        supported: true,
    }
}
const fn switch(name: &'static str, group: &'static str, desc: &'static str) -> Static {
    row(name, ActionKind::Bool, group, desc)
}
const fn int(name: &'static str, group: &'static str, desc: &'static str) -> Static {
    row(name, ActionKind::Int, group, desc)
}
const fn text(name: &'static str, group: &'static str, desc: &'static str) -> Static {
    row(name, ActionKind::Str, group, desc)
}
const fn checked(
    name: &'static str,
    check: Check,
    group: &'static str,
    desc: &'static str,
) -> Static {
    Static {
        name,
        kind: ActionKind::Str,
        check,
        group,
        desc,
        supported: true,
    }
}
/// An action privacyIDEA knows but nothing in Tessera enforces yet: listed in `GET /policy/defs`
/// (marked), refused by `POST /policy`, so that no policy silently does nothing.
const fn unsupported(mut s: Static) -> Static {
    s.supported = false;
    s
}

pub(crate) const OTPLEN: &[i64] = &[6, 8];
pub(crate) const HASHLIB: &[&str] = &["sha1", "sha256", "sha512"];
pub(crate) const TIMESTEP: &[i64] = &[30, 60];
const OTPPIN: &[&str] = &["tokenpin", "userstore", "none"];
const AUTHORIZED: &[&str] = &["grant_access", "deny_access"];
const AUTOASSIGN: &[&str] = &["any_pin", "userstore"];
const LOGIN_MODE: &[&str] = &["userstore", "privacyIDEA", "disable"];
const CLIENT_MODES: &[&str] = &["interactive", "webauthn", "poll", "u2f"];

#[rustfmt::skip]
pub(crate) const AUTHENTICATION: &[Static] = &[
    row("otppin", ActionKind::Choice(OTPPIN), "", "The PIN part of the password is checked against the token PIN (tokenpin), the user store password (userstore) or not at all (none)."),
    Static { check: Check::UserStoreOnly, ..row("passthru", ActionKind::BoolOrStr, "", "Users without a token authenticate with their user store password (given alone, or as passthru=userstore; passthru to a RADIUS server is not supported).") },
    switch("passOnNoToken", "", "A user who has no token is authenticated successfully."),
    switch("passOnNoUser", "", "A user who does not exist is authenticated successfully. Dangerous: use with a client restriction."),
    row("challenge_response", ActionKind::TokenTypes, "", "Token types that answer a PIN with a challenge (space separated, for example 'hotp totp')."),
    text("challenge_text", "", "Text sent with a challenge instead of the default."),
    unsupported(text("challenge_text_header", "", "Header shown above the list of triggered challenges.")),
    unsupported(text("challenge_text_footer", "", "Footer shown below the list of triggered challenges.")),
    unsupported(row("preferred_client_mode", ActionKind::ChoiceList(CLIENT_MODES), "", "Order in which the client should offer the modes of a multi-challenge (for example 'poll interactive').")),
    switch("reset_all_user_tokens", "", "A successful authentication resets the fail counter of all tokens of the user."),
    switch("increase_failcounter_on_challenge", "", "Triggering a challenge increases the fail counter of the token."),
    int("failcounter_clear_timeout", "", "Minutes after which a token locked by its fail counter may try again (the counter is reset at the next attempt); 0 = never."),
    unsupported(row("disabled_token_types", ActionKind::TokenTypes, "", "Token types that may not be used to authenticate (space separated).")),
];

#[rustfmt::skip]
pub(crate) const AUTHORIZATION: &[Static] = &[
    row("authorized", ActionKind::Choice(AUTHORIZED), "", "Whether matching users are allowed to authenticate at all (grant_access or deny_access)."),
    row("tokentype", ActionKind::TokenTypes, "", "Only tokens of these types may authenticate (space separated)."),
    checked("serial", Check::Regex, "", "Only tokens whose serial matches this regular expression may authenticate."),
    checked("tokeninfo", Check::TokenInfo, "", "Only tokens whose token info matches may authenticate: key/regex/, for example tokenkind/software/."),
    text("setrealm", "", "The user is looked up in this realm instead of the one given in the request."),
    checked("last_auth", Check::Duration, "", "The token must have been used successfully within this time, for example 30h, 7d or 5m."),
    checked("auth_max_success", Check::Rate, "", "At most this many successful authentications per user in the period, for example 3/5m."),
    checked("auth_max_fail", Check::Rate, "", "At most this many failed authentications per user in the period, for example 3/5m."),
    switch("add_user_in_response", "", "The answer of a successful authentication contains the user's attributes."),
    switch("add_resolver_in_response", "", "The answer of a successful authentication contains the user's resolver and realm."),
    switch("no_detail_on_success", "", "The answer of a successful authentication contains no details."),
    switch("no_detail_on_fail", "", "The answer of a failed authentication contains no details."),
    unsupported(switch("api_key_required", "", "/validate/ requests need an API key in the Authorization header.")),
    switch("application_tokentype", "", "The client may restrict the authentication to one token type with the parameter 'type'."),
];

#[rustfmt::skip]
pub(crate) const ENROLLMENT: &[Static] = &[
    int("max_token_per_user", "token", "A user may have at most this many tokens."),
    int("max_token_per_realm", "token", "A realm may hold at most this many tokens."),
    unsupported(int("max_active_token_per_user", "token", "A user may have at most this many active tokens.")),
    int("otp_pin_minlength", "pin", "The OTP PIN must have at least this many characters."),
    int("otp_pin_maxlength", "pin", "The OTP PIN may have at most this many characters."),
    checked("otp_pin_contents", Check::PinContents, "pin", "What the OTP PIN must contain: c letters, n digits, s special, o others; '+cn' one of the groups, '-s' none of the group."),
    unsupported(text("tokenlabel", "", "Label of the token in the authenticator app; tags {user}, {realm}, {serial}, {givenname}, {surname}.")),
    text("tokenissuer", "", "Issuer of the token in the authenticator app; tags {user}, {realm}, {serial}."),
    unsupported(row("autoassignment", ActionKind::Choice(AUTOASSIGN), "", "A user without a token gets an unassigned token assigned by using it: any_pin or userstore.")),
    unsupported(text("appimageurl", "", "URL of an image the authenticator app shows for the token.")),
    unsupported(row("require_description", ActionKind::TokenTypes, "", "Tokens of these types need a description when they are enrolled (space separated).")),
];

#[rustfmt::skip]
pub(crate) const ADMIN: &[Static] = &[
    switch("enable", "token", "Admin is allowed to enable tokens."),
    switch("disable", "token", "Admin is allowed to disable tokens."),
    switch("set", "token", "Admin is allowed to set token properties."),
    switch("setdescription", "token", "Admin is allowed to set the description of tokens."),
    switch("setpin", "token", "Admin is allowed to set the OTP PIN of tokens."),
    switch("settokeninfo", "token", "Admin is allowed to set token info."),
    switch("resync", "token", "Admin is allowed to resync tokens."),
    switch("reset", "token", "Admin is allowed to reset the fail counter of tokens."),
    switch("revoke", "token", "Admin is allowed to revoke tokens."),
    switch("assign", "token", "Admin is allowed to assign tokens to users."),
    switch("unassign", "token", "Admin is allowed to remove tokens from users."),
    switch("delete", "token", "Admin is allowed to delete tokens."),
    switch("importtokens", "token", "Admin is allowed to import token files."),
    switch("tokenrealms", "token", "Admin is allowed to set the realms of tokens."),
    switch("tokenlist", "token", "Admin is allowed to list tokens."),
    switch("getserial", "token", "Admin is allowed to find the serial of a token by its OTP value."),
    switch("getchallenges", "token", "Admin is allowed to list open challenges."),
    switch("triggerchallenge", "token", "Admin is allowed to trigger challenges with /validate/triggerchallenge."),
    switch("losttoken", "token", "Admin is allowed to replace a lost token by a temporary one."),
    switch("userlist", "user", "Admin is allowed to list users."),
    switch("adduser", "user", "Admin is allowed to add users to editable resolvers."),
    switch("updateuser", "user", "Admin is allowed to change users of editable resolvers."),
    switch("deleteuser", "user", "Admin is allowed to delete users of editable resolvers."),
    switch("configread", "system", "Admin is allowed to read the system configuration."),
    switch("configwrite", "system", "Admin is allowed to write the system configuration."),
    switch("configdelete", "system", "Admin is allowed to delete keys of the system configuration."),
    switch("policyread", "system", "Admin is allowed to read policies."),
    switch("policywrite", "system", "Admin is allowed to write policies."),
    switch("policydelete", "system", "Admin is allowed to delete policies."),
    switch("resolverread", "system", "Admin is allowed to read resolvers and realms."),
    switch("resolverwrite", "system", "Admin is allowed to write resolvers and realms."),
    switch("resolverdelete", "system", "Admin is allowed to delete resolvers and realms."),
    switch("auditlog", "system", "Admin is allowed to read the audit log."),
    switch("auditlog_download", "system", "Admin is allowed to download the audit log."),
    checked("auditlog_age", Check::Duration, "system", "Admin sees only audit entries younger than this, for example 7d."),
    switch("system_documentation", "system", "Admin is allowed to read the generated documentation of the configuration."),
    switch("getrandom", "tools", "Admin is allowed to fetch random data from the server."),
    switch("set_hsm_password", "system", "Admin is allowed to give the password of the security module."),
    switch("smtpserver_read", "system", "Admin is allowed to read SMTP server definitions."),
    switch("smtpserver_write", "system", "Admin is allowed to write SMTP server definitions."),
    switch("smsgateway_read", "system", "Admin is allowed to read SMS gateway definitions."),
    switch("smsgateway_write", "system", "Admin is allowed to write SMS gateway definitions."),
    int("otp_pin_minlength", "pin", "PINs the admin sets must have at least this many characters."),
    int("otp_pin_maxlength", "pin", "PINs the admin sets may have at most this many characters."),
    checked("otp_pin_contents", Check::PinContents, "pin", "What PINs the admin sets must contain: c letters, n digits, s special, o others; '+cn', '-s'."),
];

#[rustfmt::skip]
pub(crate) const USER: &[Static] = &[
    switch("assign", "token", "Users are allowed to assign unassigned tokens to themselves."),
    switch("unassign", "token", "Users are allowed to remove their tokens."),
    switch("disable", "token", "Users are allowed to disable their tokens."),
    switch("enable", "token", "Users are allowed to enable their tokens."),
    switch("delete", "token", "Users are allowed to delete their tokens."),
    switch("resync", "token", "Users are allowed to resync their tokens."),
    switch("reset", "token", "Users are allowed to reset the fail counter of their tokens."),
    switch("setpin", "token", "Users are allowed to set the OTP PIN of their tokens."),
    switch("setdescription", "token", "Users are allowed to set the description of their tokens."),
    switch("auditlog", "general", "Users are allowed to read their own audit entries."),
    checked("auditlog_age", Check::Duration, "general", "Users see only audit entries younger than this, for example 7d."),
    switch("userlist", "general", "Users are allowed to read their own user attributes."),
    switch("updateuser", "general", "Users are allowed to change their own attributes in editable resolvers."),
    switch("password_reset", "general", "Users are allowed to reset their password in editable resolvers."),
    int("otp_pin_minlength", "pin", "PINs users set must have at least this many characters."),
    int("otp_pin_maxlength", "pin", "PINs users set may have at most this many characters."),
    checked("otp_pin_contents", Check::PinContents, "pin", "What PINs users set must contain: c letters, n digits, s special, o others; '+cn', '-s'."),
];

#[rustfmt::skip]
pub(crate) const WEBUI: &[Static] = &[
    row("login_mode", ActionKind::Choice(LOGIN_MODE), "", "Users log in to the web UI with their user store password (userstore), with privacyIDEA (their tokens) or not at all (disable)."),
    unsupported(int("jwt_validity", "", "Seconds a web UI login token stays valid.")),
    unsupported(int("logout_time", "", "Seconds of inactivity after which the web UI logs out.")),
    unsupported(int("token_page_size", "", "Tokens shown per page in the web UI.")),
    unsupported(int("user_page_size", "", "Users shown per page in the web UI.")),
    unsupported(row("default_tokentype", ActionKind::TokenType, "", "Token type preselected in the enrollment dialog.")),
    unsupported(text("realm_dropdown", "", "Realms offered in a drop-down list on the login page (space separated).")),
    unsupported(switch("hide_buttons", "", "Buttons for actions the user may not do are hidden instead of disabled.")),
    unsupported(switch("show_seed", "", "The enrollment dialog shows the seed as text.")),
    unsupported(switch("tokenwizard", "", "Users without a token see the enrollment wizard after login.")),
];

pub(crate) const SYSTEM: &[Static] = &[];
