//! PC/SC transport (pcscd / winscard): reader discovery with a name filter, one card connection per use.

use std::ffi::CString;

use super::ApduConnection;
use crate::error::{HwError, Result};

/// A connected card.
pub struct PcscCard {
    card: pcsc::Card,
    reader: String,
}

/// One reader and whether a card is in it.
#[derive(Clone, Debug)]
pub struct ReaderInfo {
    pub name: String,
    pub card_present: bool,
}

fn map_err(e: pcsc::Error) -> HwError {
    match e {
        pcsc::Error::NoReadersAvailable => HwError::NoReader,
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => HwError::NoService(e.to_string()),
        other => HwError::Pcsc(other.to_string()),
    }
}

fn context() -> Result<pcsc::Context> {
    pcsc::Context::establish(pcsc::Scope::User).map_err(map_err)
}

fn reader_names(ctx: &pcsc::Context) -> Result<Vec<CString>> {
    match ctx.list_readers_owned() {
        Ok(r) => Ok(r),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(map_err(e)),
    }
}

fn matches(name: &str, filter: Option<&str>) -> bool {
    filter.is_none_or(|f| name.to_lowercase().contains(&f.to_lowercase()))
}

/// Every reader whose name contains `filter` (case-insensitive), with card presence.
pub fn list_readers(filter: Option<&str>) -> Result<Vec<ReaderInfo>> {
    let ctx = context()?;
    let mut out = Vec::new();
    for name in reader_names(&ctx)? {
        let s = name.to_string_lossy().into_owned();
        if !matches(&s, filter) {
            continue;
        }
        let card_present = ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .is_ok();
        out.push(ReaderInfo {
            name: s,
            card_present,
        });
    }
    Ok(out)
}

/// Connects to the card in the first reader that matches `filter` and holds a card. Without a filter,
/// readers named like a YubiKey are tried first.
pub fn connect(filter: Option<&str>) -> Result<PcscCard> {
    let ctx = context()?;
    let all = reader_names(&ctx)?;
    if all.is_empty() {
        return Err(HwError::NoReader);
    }
    let mut candidates: Vec<&CString> = all
        .iter()
        .filter(|n| matches(&n.to_string_lossy(), filter))
        .collect();
    if candidates.is_empty() {
        return Err(HwError::ReaderNotFound {
            filter: filter.unwrap_or_default().to_string(),
            available: all
                .iter()
                .map(|n| format!("\"{}\"", n.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    candidates.sort_by_key(|n| !n.to_string_lossy().to_lowercase().contains("yubi"));
    let mut last_err = None;
    for name in &candidates {
        match ctx.connect(name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
            Ok(card) => {
                return Ok(PcscCard {
                    card,
                    reader: name.to_string_lossy().into_owned(),
                });
            }
            Err(
                pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard | pcsc::Error::UnpoweredCard,
            ) => {}
            Err(e) => last_err = Some(map_err(e)),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        HwError::NoCard(
            candidates
                .iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("\", \""),
        )
    }))
}

impl ApduConnection for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let resp = self.card.transmit(apdu, &mut buf).map_err(|e| match e {
            pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard => {
                HwError::NoCard(self.reader.clone())
            }
            e => map_err(e),
        })?;
        Ok(resp.to_vec())
    }

    fn name(&self) -> String {
        self.reader.clone()
    }
}
