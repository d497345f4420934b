//! Seed import: the tokens of an import file (`tessera-import`) stored as if enrolled, streamed and committed in batches.
//!
//! Each token goes through its plugin's `enroll` with the imported key, so its state is what an
//! enrollment would have written; then the counter from the file is set, the seed is sealed like an
//! enrolled one, and the record is inserted. A token that cannot be imported (type not loaded, serial
//! taken, unknown owner, a value the plugin refuses) is counted and reported with its line; the rest
//! of the file goes on. Memory stays bounded: one token at a time, a durable commit every
//! [`ImportOptions::batch`] tokens, and at most [`REPORT_CAP`] failures listed.

use std::io::BufRead;
use std::net::IpAddr;

use tessera_import::{ImportUser, ImportedToken};
use tessera_proto::PiError;
use tessera_runtime::EnrollRequest;
use tessera_store::{Cas, TokenOwner, TokenRecord, Versioned};

pub use tessera_import::{FileError, Format, Secret, UnknownFormat};

use crate::policies::{Caller, Target};
use crate::sysconfig::SysConfig;
use crate::tokens::key_aad;
use crate::{ResolvedUser, Tessera, call_err, store_err};

/// At most this many failures are listed in an [`ImportReport`]; the rest are only counted.
pub const REPORT_CAP: usize = 1_000;

/// Tokens written between two durable commits.
pub const DEFAULT_BATCH: usize = 1_000;

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Realms every imported token is put in (privacyIDEA's `tokenrealms`); each must exist.
    pub tokenrealms: Vec<String>,
    /// Replace a token whose serial exists (its owner, PIN and counters are lost); otherwise skip it.
    pub overwrite: bool,
    /// The administrator importing, and from where: each owner named in the file must be in a realm
    /// where they have the `importtokens` right. `None`: the local command line, which may do anything.
    pub caller: Option<(Caller, Option<IpAddr>)>,
    /// Tokens per durable commit.
    pub batch: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            tokenrealms: Vec::new(),
            overwrite: false,
            caller: None,
            batch: DEFAULT_BATCH,
        }
    }
}

/// A token, row or key package that was not imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotImported {
    /// 1-based line in the file.
    pub line: usize,
    /// The serial, when it could be read.
    pub serial: Option<String>,
    /// Why, in words for the admin.
    pub reason: String,
}

/// The outcome of an import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub n_imported: u64,
    pub n_not_imported: u64,
    /// The first [`REPORT_CAP`] failures, in file order.
    pub not_imported: Vec<NotImported>,
    /// Failures beyond the cap, counted but not listed.
    pub not_listed: u64,
}

impl ImportReport {
    fn fail(&mut self, line: usize, serial: Option<String>, reason: String) {
        self.n_not_imported += 1;
        if self.not_imported.len() < REPORT_CAP {
            tracing::debug!(line, serial = ?serial.as_deref().unwrap_or(""), %reason, "token not imported");
            self.not_imported.push(NotImported {
                line,
                serial,
                reason,
            });
        } else {
            self.not_listed += 1;
        }
    }
}

impl Tessera {
    /// Imports the tokens of `reader` (a file in `format`, unlocked by `secret` if it is an encrypted
    /// PSKC). A whole-file problem (wrong key or password, a MAC that does not verify, not the format
    /// said, an unknown token realm) is a 400 and imports nothing. Runs on a blocking thread.
    pub async fn import_tokens<R: BufRead + Send + 'static>(
        &self,
        format: Format,
        reader: R,
        secret: Secret,
        opts: ImportOptions,
    ) -> Result<ImportReport, PiError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.import_blocking(format, reader, secret, &opts))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "the import thread failed");
                PiError::internal()
            })?
    }

    fn import_blocking<R: BufRead>(
        &self,
        format: Format,
        reader: R,
        secret: Secret,
        opts: &ImportOptions,
    ) -> Result<ImportReport, PiError> {
        let snap = self.inner.directory.snapshot();
        if let Some(r) = opts
            .tokenrealms
            .iter()
            .find(|r| !snap.realms.contains_key(r.as_str()))
        {
            return Err(PiError::parameter(format!(
                "the token realm '{}' does not exist",
                crate::shorten(r)
            )));
        }
        let importer = tessera_import::open(format, reader, secret).map_err(|e| {
            tracing::warn!(%format, error = %e, "import file refused");
            PiError::parameter(format!("The {format} file cannot be imported: {e}"))
        })?;
        let sys = self.sysconfig();
        let now = self.now() as u64;
        let batch = opts.batch.max(1);
        let mut report = ImportReport::default();
        let mut pending = 0;
        for item in importer {
            let token = match item {
                Ok(t) => t,
                Err(e) => {
                    report.fail(e.line, e.serial, e.reason);
                    continue;
                }
            };
            match self.import_one(&token, opts, &sys, now)? {
                Ok(()) => {
                    report.n_imported += 1;
                    pending += 1;
                    if pending >= batch {
                        self.inner
                            .store
                            .commit()
                            .wait_blocking()
                            .map_err(store_err)?;
                        pending = 0;
                    }
                }
                Err(reason) => report.fail(token.line, Some(token.serial.clone()), reason),
            }
        }
        if pending > 0 {
            self.inner
                .store
                .commit()
                .wait_blocking()
                .map_err(store_err)?;
        }
        tracing::info!(
            %format,
            n_imported = report.n_imported,
            n_not_imported = report.n_not_imported,
            "tokens imported"
        );
        Ok(report)
    }

    /// Stores one token. The inner error is why this token was skipped; the outer one (a store
    /// failure) ends the import.
    fn import_one(
        &self,
        t: &ImportedToken,
        opts: &ImportOptions,
        sys: &SysConfig,
        now: u64,
    ) -> Result<Result<(), String>, PiError> {
        let ttype = t.tokentype.to_ascii_lowercase();
        if self.inner.runtime.token_type(&ttype).is_none() {
            return Ok(Err(format!(
                "token type '{ttype}' is not loaded on this server"
            )));
        }
        if let Err(reason) = check_serial(&t.serial) {
            return Ok(Err(reason));
        }
        let existing = self.inner.store.get_token(&t.serial).map_err(store_err)?;
        if existing.is_some() && !opts.overwrite {
            return Ok(Err("serial exists".to_owned()));
        }
        let owner = match &t.user {
            Some(u) if !u.user.is_empty() => match self.import_owner(u, opts) {
                Ok(o) => Some(o),
                Err(reason) => return Ok(Err(reason)),
            },
            _ => None,
        };
        let mut params = vec![("otplen".to_owned(), t.otplen.to_string())];
        if let Some(h) = &t.hashlib {
            params.push(("hashlib".to_owned(), h.clone()));
        }
        if let Some(step) = t.timestep {
            params.push(("timeStep".to_owned(), step.to_string()));
        }
        let enrolled = self.inner.runtime.enroll(
            &ttype,
            EnrollRequest {
                serial: t.serial.clone(),
                params,
                otpkey: Some(t.otpkey.clone()),
                username: owner.as_ref().map(|o| o.login.clone()),
                issuer: self.inner.cfg.issuer.clone(),
                now,
            },
        );
        let enrollment = match enrolled {
            Ok(e) => e,
            Err(e) => {
                let message = call_err(e).message;
                let reason = message.strip_prefix("ERR905: ").unwrap_or(&message);
                return Ok(Err(reason.to_owned()));
            }
        };
        let sealed_key = enrollment
            .key
            .as_ref()
            .map(|k| self.inner.sealer.seal(&key_aad(&t.serial), k));
        let mut info = enrollment.state.info;
        for (k, v) in &t.info {
            info.insert(k.clone(), info_value(k, v));
        }
        let mut realms = opts.tokenrealms.clone();
        if let Some(o) = &owner
            && !realms.contains(&o.realm)
        {
            realms.push(o.realm.clone());
        }
        let record = TokenRecord {
            id: existing.as_ref().map_or(0, |e| e.value.id),
            serial: t.serial.clone(),
            tokentype: ttype,
            active: true,
            revoked: false,
            locked: false,
            description: t.description.clone(),
            otplen: enrollment.state.otplen,
            count: t.counter,
            count_window: sys.default_count_window,
            sync_window: sys.default_sync_window,
            failcount: 0,
            maxfail: sys.default_maxfail,
            info,
            pin_hash: None,
            sealed_key,
            owner: owner.map(|o| TokenOwner {
                realm: o.realm,
                resolver: o.resolver,
                user_id: o.user_id,
            }),
            realms,
            rollout_state: String::new(),
        };
        self.store_imported(existing, record)
    }

    /// Inserts a new token, or replaces `existing` (overwrite) if nobody changed it meanwhile.
    fn store_imported(
        &self,
        existing: Option<Versioned<TokenRecord>>,
        record: TokenRecord,
    ) -> Result<Result<(), String>, PiError> {
        let store = &self.inner.store;
        let stored = match &existing {
            None => store.insert_token(record).map_err(store_err)?,
            Some(old) => store.update_token(old, &record).map_err(store_err)? == Cas::Done,
        };
        Ok(match (stored, existing) {
            (true, _) => Ok(()),
            (false, None) => Err("serial exists".to_owned()),
            (false, Some(_)) => {
                Err("the token changed during the import; import it again".to_owned())
            }
        })
    }

    /// The owner named by a `# version: 2` OATH CSV row, if the importing admin may give them tokens.
    fn import_owner(&self, u: &ImportUser, opts: &ImportOptions) -> Result<ResolvedUser, String> {
        let realm = Some(u.realm.as_str()).filter(|r| !r.is_empty());
        let found = self.resolve_user(&u.user, realm).map_err(|_| {
            format!(
                "user '{}' not found in realm '{}'",
                crate::shorten(&u.user),
                crate::shorten(realm.unwrap_or("(default)"))
            )
        })?;
        if !u.resolver.is_empty() && u.resolver != found.resolver {
            return Err(format!(
                "user '{}' of realm '{}' is in resolver '{}', not '{}'",
                crate::shorten(&found.login),
                found.realm,
                found.resolver,
                crate::shorten(&u.resolver)
            ));
        }
        if let Some((caller, ip)) = &opts.caller {
            let target = Target {
                realm: Some(&found.realm),
                resolver: Some(&found.resolver),
                user: Some(&found.login),
            };
            self.check_right(caller, "importtokens", target, *ip)
                .map_err(|_| {
                    format!(
                        "not allowed to import tokens for users of realm '{}'",
                        found.realm
                    )
                })?;
        }
        Ok(found)
    }
}

/// privacyIDEA keeps `timeShift` as a Python float (`60.0`); files give whole seconds.
fn info_value(key: &str, value: &str) -> String {
    match value.parse::<i64>() {
        Ok(n) if key == "timeShift" => format!("{n}.0"),
        _ => value.to_owned(),
    }
}

/// The serials `/token/init` accepts: at most 64 letters, digits, `-`, `_`, `.` or `:`.
fn check_serial(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid serial '{}': use at most 64 letters, digits, '-', '_', '.' or ':'",
            crate::shorten(s)
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tessera_proto::Params;
    use tessera_runtime::{CheckRequest, Runtime, RuntimeConfig};
    use tessera_store::{Sealer, SledStore};

    use super::*;
    use crate::tokens::state_of;
    use crate::{CoreConfig, FixedClock};

    const RFC_KEY: &[u8] = b"12345678901234567890";

    /// A core with the bundled plugins over a temporary store, and realm `realm1` of alice and bob.
    fn core(dir: &tempfile::TempDir) -> Tessera {
        let store = SledStore::open(&dir.path().join("db")).unwrap();
        let mut runtime = Runtime::new(RuntimeConfig::default()).unwrap();
        for p in tessera_bundled::bundled() {
            runtime.load(p.manifest, p.wasm).unwrap();
        }
        let core = Tessera::new(
            Arc::new(store),
            Arc::new(runtime),
            Sealer::from_key(&[7; 32]),
            Arc::new(FixedClock::new(1_796_315_908.5)),
            CoreConfig::default(),
        )
        .unwrap();
        let passwd = dir.path().join("users.passwd");
        std::fs::write(
            &passwd,
            "alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n",
        )
        .unwrap();
        let params = Params::from_pairs([
            ("type", "passwdresolver"),
            ("fileName", passwd.to_str().unwrap()),
        ]);
        core.set_resolver("flat1", &params).unwrap();
        core.set_realm("realm1", &Params::from_pairs([("resolvers", "flat1")]))
            .unwrap();
        core
    }

    async fn import(
        core: &Tessera,
        csv: &str,
        opts: ImportOptions,
    ) -> Result<ImportReport, PiError> {
        let reader = std::io::Cursor::new(csv.as_bytes().to_vec());
        core.import_tokens(Format::OathCsv, reader, Secret::None, opts)
            .await
    }

    /// The OTP the stored token accepts next must be RFC 4226's value for `counter`.
    fn accepts(core: &Tessera, serial: &str, otp: &str) -> bool {
        let t = core.token_record(serial).unwrap();
        let key = core.open_key(&t).unwrap();
        let req = CheckRequest {
            key: &key,
            state: state_of(&t),
            otp: otp.to_owned(),
            now: 1_796_315_908,
            window: t.count_window,
        };
        matches!(
            core.runtime().check(&t.tokentype, serial, req).unwrap(),
            tessera_runtime::CheckOutcome::Matched(_)
        )
    }

    #[tokio::test]
    async fn oath_csv_tokens_are_stored_as_enrolled_ones() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(&dir);
        let csv = "\u{feff}# serial, key, type, otplen, counter\r\n\
                   OATHCSV0001, 3132333435363738393031323334353637383930, hotp, 6, 5\r\n\
                   OATHCSV0002, 3132333435363738393031323334353637383930, totp, 8, 60\r\n\
                   OATHCSV0003, 3132333435363738393031323334353637383930313233343536373839303132, hotp, 8\r\n";
        let opts = ImportOptions {
            tokenrealms: vec!["realm1".into()],
            batch: 2,
            ..Default::default()
        };
        let report = import(&core, csv, opts).await.unwrap();
        assert_eq!(
            (report.n_imported, report.n_not_imported),
            (3, 0),
            "{report:?}"
        );

        let hotp = core.token_record("OATHCSV0001").unwrap();
        assert_eq!(
            (hotp.count, hotp.otplen, hotp.description.as_str()),
            (5, 6, "imported")
        );
        assert_eq!(hotp.realms, ["realm1"]);
        assert_eq!(
            hotp.info.get("tokenkind").map(String::as_str),
            Some("hardware")
        );
        assert_eq!(hotp.info.get("hashlib").map(String::as_str), Some("sha1"));
        assert_eq!(&*core.open_key(&hotp).unwrap(), RFC_KEY);
        // RFC 4226 appendix D: counter 5 is 254676; counter 4 (below the imported counter) is not accepted.
        assert!(!accepts(&core, "OATHCSV0001", "338314"));
        assert!(accepts(&core, "OATHCSV0001", "254676"));

        let totp = core.token_record("OATHCSV0002").unwrap();
        assert_eq!(totp.tokentype, "totp");
        assert_eq!(totp.otplen, 8);
        assert_eq!(totp.info.get("timeStep").map(String::as_str), Some("60"));
        let sha256 = core.token_record("OATHCSV0003").unwrap();
        assert_eq!(
            sha256.info.get("hashlib").map(String::as_str),
            Some("sha256")
        );
    }

    #[tokio::test]
    async fn bad_rows_and_taken_serials_are_reported_and_the_rest_imported() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(&dir);
        let first = "KEEP1, 3132333435363738393031323334353637383930, hotp, 6, 7\n";
        import(&core, first, ImportOptions::default())
            .await
            .unwrap();
        let csv = "KEEP1, 3132333435363738393031323334353637383930, hotp, 6\n\
                   GOOD1, 3132333435363738393031323334353637383930\n\
                   BAD1, nothex, hotp, 6\n\
                   BAD SERIAL, 3132333435363738393031323334353637383930\n\
                   GOOD2, 3132333435363738393031323334353637383930, totp, 6, 45\n";
        let report = import(&core, csv, ImportOptions::default()).await.unwrap();
        assert_eq!(
            (report.n_imported, report.n_not_imported),
            (1, 4),
            "{report:?}"
        );
        let lines: Vec<(usize, Option<&str>)> = report
            .not_imported
            .iter()
            .map(|n| (n.line, n.serial.as_deref()))
            .collect();
        assert_eq!(
            lines,
            [
                (1, Some("KEEP1")),
                (3, Some("BAD1")),
                (4, Some("BAD SERIAL")),
                (5, Some("GOOD2"))
            ]
        );
        assert_eq!(report.not_imported[0].reason, "serial exists");
        assert!(
            report.not_imported[1].reason.contains("not hex"),
            "{report:?}"
        );
        assert!(
            report.not_imported[2].reason.contains("invalid serial"),
            "{report:?}"
        );
        // The TOTP plugin offers 30 or 60 s steps only: its own message comes back.
        assert!(
            report.not_imported[3].reason.contains("timeStep"),
            "{report:?}"
        );
        assert_eq!(
            core.token_record("KEEP1").unwrap().count,
            7,
            "not overwritten"
        );

        let again = "KEEP1, 3132333435363738393031323334353637383930, hotp, 8, 2\n";
        let opts = ImportOptions {
            overwrite: true,
            ..Default::default()
        };
        let report = import(&core, again, opts).await.unwrap();
        assert_eq!(report.n_imported, 1, "{report:?}");
        let kept = core.token_record("KEEP1").unwrap();
        assert_eq!((kept.count, kept.otplen), (2, 8));
    }

    #[tokio::test]
    async fn version_2_rows_get_their_owner() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(&dir);
        let csv = "# version: 2\n\
                   alice, flat1, realm1, ALICE1, 3132333435363738393031323334353637383930, hotp, 6\n\
                   carol, , realm1, CAROL1, 3132333435363738393031323334353637383930, hotp, 6\n\
                   bob, other, realm1, BOB1, 3132333435363738393031323334353637383930, hotp, 6\n\
                   , , , NOBODY1, 3132333435363738393031323334353637383930, hotp, 6\n";
        let report = import(&core, csv, ImportOptions::default()).await.unwrap();
        assert_eq!(
            (report.n_imported, report.n_not_imported),
            (2, 2),
            "{report:?}"
        );
        let alice = core.token_record("ALICE1").unwrap();
        let owner = alice.owner.unwrap();
        assert_eq!(
            (
                owner.realm.as_str(),
                owner.resolver.as_str(),
                owner.user_id.as_str()
            ),
            ("realm1", "flat1", "1000")
        );
        assert_eq!(alice.realms, ["realm1"]);
        assert!(core.token_record("NOBODY1").unwrap().owner.is_none());
        assert_eq!(
            report.not_imported[0].reason,
            "user 'carol' not found in realm 'realm1'"
        );
        assert!(
            report.not_imported[1].reason.contains("not 'other'"),
            "{report:?}"
        );
    }

    #[tokio::test]
    async fn whole_file_problems_import_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(&dir);
        let opts = ImportOptions {
            tokenrealms: vec!["nosuchrealm".into()],
            ..Default::default()
        };
        let csv = "S1, 3132333435363738393031323334353637383930\n";
        let err = import(&core, csv, opts).await.unwrap_err();
        assert_eq!(
            err.message,
            "ERR905: the token realm 'nosuchrealm' does not exist"
        );
        let err = core
            .import_tokens(
                Format::Pskc,
                std::io::Cursor::new(b"S1, 3132\n".to_vec()),
                Secret::None,
                ImportOptions::default(),
            )
            .await
            .unwrap_err();
        assert!(
            err.message
                .starts_with("ERR905: The pskc file cannot be imported: "),
            "{err:?}"
        );
        assert!(core.token_record("S1").is_err());
    }

    #[test]
    fn the_report_lists_at_most_the_cap() {
        let mut report = ImportReport::default();
        for line in 1..=REPORT_CAP + 5 {
            report.fail(line, None, "x".into());
        }
        assert_eq!(report.n_not_imported, (REPORT_CAP + 5) as u64);
        assert_eq!(
            (report.not_imported.len(), report.not_listed),
            (REPORT_CAP, 5)
        );
        assert_eq!(info_value("timeShift", "-60"), "-60.0");
        assert_eq!(info_value("timeShift", "1.5"), "1.5");
        assert_eq!(info_value("tokenkind", "1"), "1");
    }
}
