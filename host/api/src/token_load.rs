//! `POST /token/load/<filename>`: seed import from an uploaded file (multipart field `file`), guarded by the
//! admin right `importtokens` on every token realm.
//!
//! The upload may be large (up to [`IMPORT_LIMIT`]) and its fields may come in any order (privacyIDEA's
//! web UI sends the file first), so the file is spooled, in records encrypted with a key that lives only
//! in memory, to an unnamed temporary file while the request is read. Once every field is known, the
//! spool is decrypted record by record into `Tessera::import_tokens`: memory stays at one record, and
//! the seeds never reach a disk in clear.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use axum::Router;
use axum::extract::multipart::{Field, Multipart, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use rand::RngCore;
use serde_json::{Value, json};
use tessera_core::Target;
use tessera_core::import::{Format, ImportOptions, ImportReport, Secret};
use tessera_proto::{Envelope, Params, PiError};
use zeroize::Zeroizing;

use crate::audit::AuditNote;
use crate::client::ClientIp;
use crate::params::parse_form;
use crate::{AdminAuth, ApiError, AppState, Reply};

/// The largest request accepted on this route (the rest of the API keeps `BODY_LIMIT`).
pub const IMPORT_LIMIT: usize = 256 << 20;
/// The largest text field (`type`, `psk`, `password`, `tokenrealms` ...).
const FIELD_LIMIT: usize = 64 << 10;
/// Plain bytes per encrypted spool record.
const RECORD: usize = 256 << 10;

pub fn routes() -> Router<AppState> {
    Router::new().route(
        "/token/load/{filename}",
        post(load).layer(DefaultBodyLimit::max(IMPORT_LIMIT)),
    )
}

/// Parameters: `file` (the upload), `type` (`oathcsv`, `yubikeycsv`, `pskc`, `ykksm` and privacyIDEA's
/// `OATH CSV` / `Yubikey CSV`), `psk` (hex) or `password` for an encrypted PSKC, `tokenrealms` (comma
/// separated), and Tessera's `overwrite` (replace tokens whose serial exists). The query string may
/// carry all but `file`. Answer: `{n_imported, n_not_imported}`; `detail.not_imported` lists the
/// failures (`line`, `serial`, `reason`), `detail.not_listed` counts those past the first 1000.
/// The audit entry's `info` names the file and gives the counts and the first failures, or why the
/// whole file was refused.
async fn load(
    State(s): State<AppState>,
    a: AdminAuth,
    ip: ClientIp,
    note: AuditNote,
    Path(filename): Path<String>,
    RawQuery(query): RawQuery,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Reply, ApiError> {
    // Before anything is read: an admin without the right in any realm is refused at once (the
    // realms are checked once the fields are known).
    a.need(&s, "importtokens", ip)?;
    let mut multipart = multipart.map_err(|_| {
        PiError::parameter(
            "Send the file as multipart/form-data, the file in a field named 'file'.",
        )
    })?;
    let mut params = Params::new();
    if let Some(q) = query {
        parse_form(q.as_bytes(), &mut params)
            .map_err(|e| PiError::parameter(format!("Invalid query string: {e}")))?;
    }
    let mut upload = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_err)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if upload.is_some() {
                return Err(PiError::parameter("Send one file per request.").into());
            }
            upload = Some(spool(&mut field).await?);
        } else if !name.is_empty() {
            let value = text(&mut field, &name).await?;
            params.insert(name, value);
        }
    }
    let upload = upload.ok_or_else(|| PiError::missing("file"))?;
    if upload.len == 0 {
        return Err(PiError::parameter("Error loading token file. File empty!").into());
    }
    let format: Format = params
        .required_nonempty("type")?
        .parse()
        .map_err(PiError::parameter)?;
    let secret = secret(&params)?;
    let tokenrealms: Vec<String> = params
        .get("tokenrealms")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect();
    let overwrite = params.bool_or("overwrite", false)?;
    if tokenrealms.is_empty() {
        // The tokens land in no realm: only a right not limited to realms covers them (as for
        // the other actions on an unassigned token).
        let no_realm = Target {
            realm: Some(""),
            ..Default::default()
        };
        a.need_on(&s, "importtokens", no_realm, ip)?;
    }
    for realm in &tokenrealms {
        let target = Target {
            realm: Some(realm),
            ..Default::default()
        };
        a.need_on(&s, "importtokens", target, ip)?;
    }
    let opts = ImportOptions {
        tokenrealms,
        overwrite,
        caller: Some((a.caller(), ip.0)),
        ..Default::default()
    };
    let size = upload.len;
    let reader = BufReader::with_capacity(64 << 10, blocking(move || upload.into_reader()).await?);
    let shown: String = filename.chars().take(64).collect();
    let report = s
        .core
        .import_tokens(format, reader, secret, opts)
        .await
        .inspect_err(|e| note.set(|n| n.info = Some(format!("{shown}: {}", e.message))))?;
    note.set(|n| n.info = Some(audit_info(&shown, &report)));
    tracing::info!(
        file = %shown,
        %format,
        size,
        admin = %a.0.username,
        n_imported = report.n_imported,
        n_not_imported = report.n_not_imported,
        "token file loaded"
    );
    Ok(Reply(answer(&report, s.core.now())))
}

/// privacyIDEA's answer, with the failures in `detail` when there are any (privacyIDEA has no detail).
fn answer(report: &ImportReport, time: f64) -> Envelope {
    let value = json!({
        "n_imported": report.n_imported,
        "n_not_imported": report.n_not_imported,
    });
    let envelope = Envelope::ok(value, time);
    if report.n_not_imported == 0 {
        return envelope;
    }
    let list: Vec<Value> = report
        .not_imported
        .iter()
        .map(|n| json!({"line": n.line, "serial": n.serial, "reason": n.reason}))
        .collect();
    envelope.with_detail(json!({"not_imported": list, "not_listed": report.not_listed}))
}

/// `FILE: n_imported N, n_not_imported M; line L (SERIAL): REASON; ...`, cut after about 512
/// characters (the audit log keeps no more of `info`).
fn audit_info(file: &str, report: &ImportReport) -> String {
    let mut info = format!(
        "{file}: n_imported {}, n_not_imported {}",
        report.n_imported, report.n_not_imported
    );
    for n in &report.not_imported {
        if info.len() >= 512 {
            break;
        }
        let serial = n
            .serial
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        info += &format!("; line {}{serial}: {}", n.line, n.reason);
    }
    info
}

/// What unlocks an encrypted PSKC file.
fn secret(params: &Params) -> Result<Secret, PiError> {
    match (params.get_nonempty("psk"), params.get_nonempty("password")) {
        (Some(_), Some(_)) => Err(PiError::parameter(
            "Give either 'psk' or 'password', not both.",
        )),
        (Some(psk), None) => Secret::psk_hex(psk).map_err(PiError::parameter),
        (None, Some(password)) => Ok(Secret::password(password)),
        (None, None) => Ok(Secret::None),
    }
}

fn multipart_err(e: MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large(IMPORT_LIMIT)
    } else {
        PiError::parameter(format!("Could not read the upload: {}", e.body_text())).into()
    }
}

/// A text field, at most [`FIELD_LIMIT`] bytes.
async fn text(field: &mut Field<'_>, name: &str) -> Result<String, ApiError> {
    let shown: String = name.chars().take(64).collect();
    let mut bytes = Zeroizing::new(Vec::new());
    while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
        if bytes.len() + chunk.len() > FIELD_LIMIT {
            return Err(PiError::parameter(format!(
                "The field '{shown}' is longer than {FIELD_LIMIT} bytes."
            ))
            .into());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| PiError::parameter(format!("The field '{shown}' is not UTF-8.")).into())
}

/// Reads the `file` field into a new spool, one record at a time.
async fn spool(field: &mut Field<'_>) -> Result<Spool, ApiError> {
    let mut spool = blocking(Spool::new).await?;
    let mut pending = Zeroizing::new(Vec::with_capacity(RECORD));
    loop {
        let chunk = field.chunk().await.map_err(multipart_err)?;
        let done = chunk.is_none();
        if let Some(c) = chunk {
            pending.extend_from_slice(&c);
        }
        if pending.len() >= RECORD || (done && !pending.is_empty()) {
            let full = std::mem::replace(&mut pending, Zeroizing::new(Vec::with_capacity(RECORD)));
            let mut s = spool;
            spool = blocking(move || s.write_record(&full).map(|()| s)).await?;
        }
        if done {
            return Ok(spool);
        }
    }
}

/// File work off the async workers. Spool failures are server faults (disk full, no temp dir).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(format!("import spool: {e}")))
}

/// An upload in an unnamed temporary file (gone when dropped, even after a crash), as records
/// `len (u32 LE) || AES-256-GCM(record)`, nonce = record number, under a key that exists only here.
struct Spool {
    file: File,
    cipher: Aes256Gcm,
    records: u64,
    /// Plain bytes written.
    len: u64,
}

impl Spool {
    fn new() -> io::Result<Spool> {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::thread_rng().fill_bytes(&mut *key);
        Ok(Spool {
            file: tempfile::tempfile()?,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&*key)),
            records: 0,
            len: 0,
        })
    }

    fn write_record(&mut self, plain: &[u8]) -> io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(&nonce(self.records), plain)
            .map_err(|_| io::Error::other("cannot encrypt a record"))?;
        let len = u32::try_from(sealed.len()).map_err(io::Error::other)?;
        self.file.write_all(&len.to_le_bytes())?;
        self.file.write_all(&sealed)?;
        self.records += 1;
        self.len += plain.len() as u64;
        Ok(())
    }

    fn into_reader(mut self) -> io::Result<SpoolReader> {
        self.file.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            file: BufReader::new(self.file),
            cipher: self.cipher,
            next: 0,
            records: self.records,
            plain: Zeroizing::new(Vec::new()),
            pos: 0,
        })
    }
}

fn nonce(record: u64) -> Nonce<<Aes256Gcm as aes_gcm::AeadCore>::NonceSize> {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&record.to_le_bytes());
    *Nonce::from_slice(&n)
}

/// The spool's plain bytes, in order; an altered, reordered or cut spool is an I/O error.
struct SpoolReader {
    file: BufReader<File>,
    cipher: Aes256Gcm,
    next: u64,
    records: u64,
    plain: Zeroizing<Vec<u8>>,
    pos: usize,
}

impl SpoolReader {
    /// Decrypts the next record into `plain`; false after the last one.
    fn refill(&mut self) -> io::Result<bool> {
        if self.next == self.records {
            return Ok(false);
        }
        let mut len = [0u8; 4];
        self.file.read_exact(&mut len)?;
        let len = usize::try_from(u32::from_le_bytes(len)).map_err(io::Error::other)?;
        if len > IMPORT_LIMIT + 16 {
            return Err(io::Error::other("the import spool is damaged"));
        }
        let mut sealed = vec![0u8; len];
        self.file.read_exact(&mut sealed)?;
        let plain = self
            .cipher
            .decrypt(&nonce(self.next), sealed.as_slice())
            .map_err(|_| io::Error::other("the import spool was altered"))?;
        self.plain = Zeroizing::new(plain);
        self.pos = 0;
        self.next += 1;
        Ok(true)
    }
}

impl Read for SpoolReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.plain.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..n + self.pos]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    use super::*;
    use crate::state::testing::{TestApp, app};

    const BOUNDARY: &str = "tesseraXboundary";

    /// A multipart body with `fields` in this order; the field named `file` is sent as a file.
    fn multipart(fields: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
            if *name == "file" {
                body.extend_from_slice(b"Content-Disposition: form-data; name=\"file\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            } else {
                body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                );
            }
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    async fn admin_jwt(t: &TestApp) -> String {
        let req = Request::post("/auth")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("username=admin&password=adminpass"))
            .unwrap();
        let (_, body) = send(t, req).await;
        body["result"]["value"]["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn send(t: &TestApp, req: Request<Body>) -> (StatusCode, Value) {
        let response = crate::router(t.state.clone()).oneshot(req).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn upload(t: &TestApp, query: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let jwt = admin_jwt(t).await;
        let req = Request::post(format!("/token/load/tokens.csv{query}"))
            .header(header::AUTHORIZATION, jwt)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        send(t, req).await
    }

    fn message(body: &Value) -> &str {
        body["result"]["error"]["message"]
            .as_str()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_file_over_the_api_body_limit_is_read_and_failures_are_listed_by_line() {
        let t = app().await;
        // 2 MiB of comment lines (over BODY_LIMIT), then one row; the file comes before `type`, as
        // privacyIDEA's web UI sends it. The test core has no plugins, so the hotp row cannot be imported.
        let mut csv = "# padding line of an OATH CSV file, 48 bytes...\n".repeat(44_000);
        let lines = csv.lines().count();
        csv.push_str("OATH0001, 3132333435363738393031323334353637383930, hotp, 6\n");
        assert!(csv.len() > 2 * crate::BODY_LIMIT);
        let (status, body) = upload(
            &t,
            "",
            multipart(&[("file", csv.as_bytes()), ("type", b"oathcsv")]),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body["result"]["value"],
            json!({"n_imported": 0, "n_not_imported": 1})
        );
        assert_eq!(
            body["detail"],
            json!({
                "not_imported": [{"line": lines + 1, "serial": "OATH0001", "reason": "token type 'hotp' is not loaded on this server"}],
                "not_listed": 0
            })
        );
    }

    #[tokio::test]
    async fn whole_file_problems_are_400_with_the_reason() {
        let t = app().await;
        let pskc = include_bytes!("../../import/tests/data/rfc6030-figure6.xml");
        let wrong_psk = multipart(&[
            ("file", pskc),
            ("type", b"pskc"),
            ("psk", b"00000000000000000000000000000000"),
        ]);
        let (status, body) = upload(&t, "", wrong_psk).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            message(&body).starts_with("ERR905: The pskc file cannot be imported: "),
            "{body}"
        );

        let cases: [(&str, Vec<u8>, &str); 6] = [
            (
                "",
                multipart(&[("type", b"oathcsv")]),
                "ERR905: Missing parameter: 'file'",
            ),
            (
                "",
                multipart(&[("file", b"S1, 3132\n")]),
                "ERR905: Missing parameter: 'type'",
            ),
            (
                "",
                multipart(&[("file", b""), ("type", b"oathcsv")]),
                "ERR905: Error loading token file. File empty!",
            ),
            (
                "?type=aladdin-xml",
                multipart(&[("file", b"x")]),
                "ERR905: unknown file type 'aladdin-xml'; known types: oathcsv, yubikeycsv, pskc, ykksm",
            ),
            (
                "?type=pskc&psk=12",
                multipart(&[("file", b"x")]),
                "ERR905: the pre-shared key must be 32 hex digits",
            ),
            (
                "?type=oathcsv&tokenrealms=nosuch",
                multipart(&[("file", b"S1, 3132\n")]),
                "ERR905: the token realm 'nosuch' does not exist",
            ),
        ];
        for (query, body, want) in cases {
            let (status, got) = upload(&t, query, body).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {got}");
            assert!(message(&got).starts_with(want), "{query}: {got}");
        }
        let jwt = admin_jwt(&t).await;
        let form = Request::post("/token/load/x.csv")
            .header(header::AUTHORIZATION, jwt)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("type=oathcsv&file=S1"))
            .unwrap();
        let (status, got) = send(&t, form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{got}");
        assert!(message(&got).contains("multipart/form-data"), "{got}");
        let anonymous = Request::post("/token/load/x.csv")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(&[
                ("file", b"S1, 3132\n"),
                ("type", b"oathcsv"),
            ])))
            .unwrap();
        assert_eq!(send(&t, anonymous).await.0, StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn the_spool_gives_back_what_was_written_and_refuses_an_altered_file() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
        let mut spool = Spool::new().unwrap();
        for part in data.chunks(RECORD) {
            spool.write_record(part).unwrap();
        }
        assert_eq!((spool.records, spool.len), (3, 700_000));
        let mut back = Vec::new();
        spool.into_reader().unwrap().read_to_end(&mut back).unwrap();
        assert_eq!(back, data);

        let mut spool = Spool::new().unwrap();
        spool
            .write_record(b"S1, 3132333435363738393031323334353637383930\n")
            .unwrap();
        spool.file.seek(SeekFrom::Start(10)).unwrap();
        spool.file.write_all(b"X").unwrap();
        let err = spool
            .into_reader()
            .unwrap()
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(err.to_string(), "the import spool was altered");
    }
}
