//! The on-disk lines (entry, checkpoint, anchor, retention) and the hash chain that links the entries.
//!
//! An entry line is `{"seq":N,"prev":H(N-1),"h":H(N),"entry":{...}}` with
//! `H(N) = SHA-256(H(N-1) || N as 8 big-endian bytes || JSON of the entry)`,
//! the JSON being serde_json's compact form of [`Entry`] in its declared field order.
//! The other lines carry an RSA-PSS signature over a text naming their kind, so one kind cannot pass for another:
//! a checkpoint signs the chain head after a batch, an anchor (first line of every segment) signs the head the
//! segment continues from, a retention line signs where the log starts after old segments were deleted.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::entry::Entry;
use crate::time::Timestamp;

/// A SHA-256 value, written as 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// The head before the first entry.
    pub const GENESIS: Hash32 = Hash32([0; 32]);
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.as_bytes(), &mut out).map_err(serde::de::Error::custom)?;
        Ok(Hash32(out))
    }
}

/// `H(seq) = SHA-256(prev || seq (8 bytes, big-endian) || JSON of entry)`.
pub(crate) fn chain_hash(prev: &Hash32, seq: u64, entry: &Entry) -> Hash32 {
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(seq.to_be_bytes());
    // Serializing a struct of strings, numbers and bools into memory cannot fail.
    if let Err(e) = serde_json::to_writer(HashWriter(&mut h), entry) {
        tracing::error!(?e, "audit entry did not serialize");
    }
    Hash32(h.finalize().into())
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One request, chained to the entry before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntryLine {
    pub seq: u64,
    pub prev: Hash32,
    pub h: Hash32,
    pub entry: Entry,
}

impl EntryLine {
    /// Chains `entry` as number `seq` after `prev`.
    #[cfg(test)]
    pub fn new(seq: u64, prev: Hash32, entry: Entry) -> EntryLine {
        let h = chain_hash(&prev, seq, &entry);
        EntryLine {
            seq,
            prev,
            h,
            entry,
        }
    }

    /// Whether the stored hash is the hash of this line's content (privacyIDEA's `sig_check` for the entry).
    pub fn hash_ok(&self) -> bool {
        chain_hash(&self.prev, self.seq, &self.entry) == self.h
    }
}

/// A signature over the chain head after a batch: every entry up to `checkpoint` is covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointLine {
    pub checkpoint: u64,
    pub h: Hash32,
    /// `date` of the last entry covered (read by age-based retention without reading the segment).
    pub date: Timestamp,
    /// Written when the log was reopened after a crash left entries without a checkpoint.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered: bool,
    pub sig: String,
}

impl CheckpointLine {
    pub fn message(seq: u64, h: &Hash32, date: Timestamp, recovered: bool) -> String {
        format!("tessera-audit/checkpoint/v1 {seq} {h} {date} {recovered}")
    }
    pub fn signed_message(&self) -> String {
        Self::message(self.checkpoint, &self.h, self.date, self.recovered)
    }
}

/// First line of every segment: the segment's entries continue the chain from entry `anchor` with head `h`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnchorLine {
    pub anchor: u64,
    pub h: Hash32,
    pub segment: u64,
    pub sig: String,
}

impl AnchorLine {
    pub fn message(seq: u64, h: &Hash32, segment: u64) -> String {
        format!("tessera-audit/anchor/v1 {seq} {h} {segment}")
    }
    pub fn signed_message(&self) -> String {
        Self::message(self.anchor, &self.h, self.segment)
    }
}

/// Written by rotation: segments before `segment` were deleted; the log now starts after entry `retention`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionLine {
    pub retention: u64,
    pub h: Hash32,
    pub segment: u64,
    pub sig: String,
}

impl RetentionLine {
    pub fn message(seq: u64, h: &Hash32, segment: u64) -> String {
        format!("tessera-audit/retention/v1 {seq} {h} {segment}")
    }
    pub fn signed_message(&self) -> String {
        Self::message(self.retention, &self.h, self.segment)
    }
}

/// Any line of a segment file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Line {
    Entry(Box<EntryLine>),
    Checkpoint(CheckpointLine),
    Anchor(AnchorLine),
    Retention(RetentionLine),
}

/// Which kind a line is, from its first bytes (the writer always writes the kind's key first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Entry,
    Checkpoint,
    Anchor,
    Retention,
}

pub(crate) fn kind_of(line: &[u8]) -> Option<Kind> {
    if line.starts_with(b"{\"seq\":") {
        Some(Kind::Entry)
    } else if line.starts_with(b"{\"checkpoint\":") {
        Some(Kind::Checkpoint)
    } else if line.starts_with(b"{\"anchor\":") {
        Some(Kind::Anchor)
    } else if line.starts_with(b"{\"retention\":") {
        Some(Kind::Retention)
    } else {
        None
    }
}

/// Parses one line (without its newline). `None` when it is not a well-formed line of any kind.
pub(crate) fn parse_line(line: &[u8]) -> Option<Line> {
    Some(match kind_of(line)? {
        Kind::Entry => Line::Entry(Box::new(serde_json::from_slice(line).ok()?)),
        Kind::Checkpoint => Line::Checkpoint(serde_json::from_slice(line).ok()?),
        Kind::Anchor => Line::Anchor(serde_json::from_slice(line).ok()?),
        Kind::Retention => Line::Retention(serde_json::from_slice(line).ok()?),
    })
}

/// Appends `value` as one JSON line to `out`.
pub(crate) fn write_line<T: Serialize>(out: &mut Vec<u8>, value: &T) {
    // Serializing these structs into a Vec cannot fail (no maps with non-string keys, no I/O).
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        tracing::error!(?e, "audit line did not serialize");
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        let mut e = Entry::new(
            "POST /validate/check",
            Timestamp::parse("2026-12-03T16:38:46.381001").unwrap_or_default(),
            Timestamp::parse("2026-12-03T16:38:46.429245").unwrap_or_default(),
        );
        e.success = true;
        e.serial = Some("OATHCSV0001".into());
        e.info = Some("matching 1 tokens".into());
        e
    }

    #[test]
    fn a_line_round_trips_and_its_hash_covers_every_field() {
        let line = EntryLine::new(68, Hash32::GENESIS, entry());
        assert!(line.hash_ok());
        let mut bytes = Vec::new();
        write_line(&mut bytes, &line);
        assert!(bytes.starts_with(b"{\"seq\":68,\"prev\":\"0000"));
        let parsed = parse_line(bytes.trim_ascii_end());
        assert_eq!(parsed, Some(Line::Entry(Box::new(line.clone()))));

        let mut changed = line.clone();
        changed.entry.duration += 0.000001;
        assert!(!changed.hash_ok());
        let mut changed = line.clone();
        changed.seq += 1;
        assert!(!changed.hash_ok());
        let mut changed = line.clone();
        changed.entry.user = Some(String::new()); // null -> "" is a change too
        assert!(!changed.hash_ok());
    }

    #[test]
    fn hashes_survive_the_round_trip_through_text_for_any_duration() {
        // Without serde_json's `float_roundtrip`, some f64 read back one ulp off and the hash would fail.
        use rand::Rng;
        let mut rng = rand::thread_rng();
        for _ in 0..20_000 {
            let mut e = entry();
            e.duration = rng.r#gen::<f64>() * 10f64.powi(rng.gen_range(-9..4));
            let line = EntryLine::new(1, Hash32::GENESIS, e);
            let text = serde_json::to_vec(&line).unwrap();
            match parse_line(&text) {
                Some(Line::Entry(back)) => assert!(back.hash_ok(), "{}", back.entry.duration),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn unknown_keys_and_other_kinds_are_rejected() {
        let line = EntryLine::new(1, Hash32::GENESIS, entry());
        let text = serde_json::to_string(&line).unwrap_or_default();
        let renamed = text.replace("\"user\":null", "\"usr\":null");
        assert_ne!(renamed, text);
        assert_eq!(parse_line(renamed.as_bytes()), None);
        assert_eq!(parse_line(b"{\"foo\":1}"), None);
        assert_eq!(parse_line(b"{\"seq\":1"), None);
    }
}
