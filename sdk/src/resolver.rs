//! User-resolver plugins (world `resolver-plugin`): the generated types under short names and the
//! host capabilities `files` ([`read_file`], [`file_stamp`]) and `passwords`. Export an
//! implementation of [`Guest`] with [`export_resolver!`](crate::export_resolver).

use crate::{Pairs, PluginError};

/// The generated bindings of the `resolver-plugin` world (used by the export macro).
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
        world: "tessera:plugin/resolver-plugin@0.1.0",
        with: {
            "tessera:plugin/types@0.1.0": crate::bindings::types,
            "tessera:plugin/host@0.1.0": crate::bindings::host,
        },
        pub_export_macro: true,
        export_macro_name: "export_resolver_world",
        default_bindings_module: "tessera_sdk::resolver::bindings",
    });
}

pub use bindings::exports::tessera::plugin::resolver::{
    ConfigField, FieldKind, Guest, ResolverInfo, UserInfo,
};

/// The content of the file named by configuration field `field` (declared with kind
/// [`FieldKind::File`]). Needs the manifest capability `files`. Errors: `bad-config` if the field is
/// missing or not a file field, `unavailable` if the host cannot read the file.
pub fn read_file(field: &str) -> Result<Vec<u8>, PluginError> {
    bindings::tessera::plugin::files::read(field)
}

/// A number that changes whenever the file named by configuration field `field` changes (the host
/// derives it from the path, size and modification time, without reading the file): keep what
/// was parsed from [`read_file`] until the stamp differs. Ask for the stamp *before* reading, so
/// a change between the two calls shows as a new stamp next time. Needs the manifest capability
/// `files`. Errors: as [`read_file`].
pub fn file_stamp(field: &str) -> Result<u64, PluginError> {
    bindings::tessera::plugin::files::stamp(field)
}

/// Whether `password` matches the crypt/argon2 `hash`, verified by the host. Needs the manifest
/// capability `passwords`. Errors: `not-supported` for a hash format the host does not know.
pub fn verify_password(hash: &str, password: &str) -> Result<bool, PluginError> {
    bindings::tessera::plugin::passwords::verify(hash, password)
}

impl ConfigField {
    /// A configuration field.
    pub fn new(name: &str, description: &str, kind: FieldKind, required: bool) -> Self {
        ConfigField {
            name: name.to_owned(),
            description: description.to_owned(),
            kind,
            required,
        }
    }
}

impl ResolverInfo {
    /// What a resolver type is: its `type` on the wire, one line of description, its fields.
    pub fn new(type_name: &str, description: &str, config_fields: Vec<ConfigField>) -> Self {
        ResolverInfo {
            type_name: type_name.to_owned(),
            description: description.to_owned(),
            config_fields,
        }
    }
}

impl UserInfo {
    /// A user with only an id and a login name; every other attribute empty.
    pub fn new(userid: impl Into<String>, username: impl Into<String>) -> Self {
        UserInfo {
            userid: userid.into(),
            username: username.into(),
            givenname: String::new(),
            surname: String::new(),
            email: String::new(),
            phone: String::new(),
            mobile: String::new(),
            extra: Vec::new(),
        }
    }

    /// The value of a user field by its WIT name (`userid`, `username`, `givenname`, `surname`,
    /// `email`, `phone`, `mobile`) or, failing that, by an `extra` key (first one wins).
    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "userid" => Some(&self.userid),
            "username" => Some(&self.username),
            "givenname" => Some(&self.givenname),
            "surname" => Some(&self.surname),
            "email" => Some(&self.email),
            "phone" => Some(&self.phone),
            "mobile" => Some(&self.mobile),
            other => self
                .extra
                .iter()
                .find(|(k, _)| k == other)
                .map(|(_, v)| v.as_str()),
        }
    }

    /// Whether the user matches every filter (`*` wildcards, case-insensitive; see
    /// [`glob::matches`](crate::glob::matches)). A filter on a field the user does not have
    /// matches nothing.
    pub fn matches(&self, filter: &Pairs) -> bool {
        filter.iter().all(|(key, pattern)| {
            self.field(key)
                .is_some_and(|value| crate::glob::matches(pattern, value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserInfo {
        UserInfo {
            userid: "1000".into(),
            username: "alice".into(),
            givenname: "Alice".into(),
            surname: "Anchor".into(),
            email: "alice@example.com".into(),
            phone: "+49222".into(),
            mobile: "+49111".into(),
            extra: vec![("description".into(), "Alice Anchor,Room 1".into())],
        }
    }

    #[test]
    fn filters_match_fields_and_extra() {
        let f = |items: &[(&str, &str)]| -> Pairs {
            items
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(alice().matches(&f(&[])));
        assert!(alice().matches(&f(&[("username", "ali*")])));
        assert!(alice().matches(&f(&[("username", "ali*"), ("email", "*@example.com")])));
        assert!(!alice().matches(&f(&[("username", "ali*"), ("surname", "B*")])));
        assert!(alice().matches(&f(&[("description", "*room 1")])));
        assert!(!alice().matches(&f(&[("department", "*")])));
    }
}
