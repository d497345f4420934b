//! Bounded line reading for the CSV-like formats: one line in memory at a time, BOM and CRLF removed, wiped on drop.

use std::io::{self, BufRead};

use zeroize::Zeroizing;

use crate::token::{ImportedToken, ItemError};

/// Longest line kept; the rest of a longer line is skipped and the line reported as too long.
pub const MAX_LINE: usize = 64 * 1024;

/// What is wrong with the current line when it cannot be read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProblem {
    /// Longer than [`MAX_LINE`] bytes.
    TooLong,
    /// Not UTF-8.
    NotUtf8,
}

impl LineProblem {
    /// The reason shown to the admin.
    pub fn reason(self) -> String {
        match self {
            LineProblem::TooLong => format!("line is longer than {MAX_LINE} bytes"),
            LineProblem::NotUtf8 => "line is not UTF-8 text".to_owned(),
        }
    }
}

/// Reads a `BufRead` line by line into one reused buffer (zeroed when dropped: lines hold seeds).
pub struct LineReader<R> {
    inner: R,
    buf: Zeroizing<Vec<u8>>,
    number: usize,
    too_long: bool,
}

impl<R: BufRead> LineReader<R> {
    /// A reader positioned before the first line.
    pub fn new(inner: R) -> Self {
        LineReader {
            inner,
            buf: Zeroizing::new(Vec::with_capacity(256)),
            number: 0,
            too_long: false,
        }
    }

    /// Reads the next line; `Ok(false)` at the end of the input.
    pub fn advance(&mut self) -> io::Result<bool> {
        self.buf.clear();
        self.too_long = false;
        let mut saw_any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, found) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (chunk.len(), false),
            };
            let room = MAX_LINE.saturating_sub(self.buf.len());
            if take > room {
                self.too_long = true;
            }
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            self.inner.consume(if found { take + 1 } else { take });
            if found {
                break;
            }
        }
        if !saw_any {
            return Ok(false);
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if self.number == 1 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.buf.drain(..3);
        }
        Ok(true)
    }

    /// 1-based number of the current line (0 before the first).
    pub fn number(&self) -> usize {
        self.number
    }

    /// The current line as text, without its line ending.
    pub fn line(&self) -> Result<&str, LineProblem> {
        if self.too_long {
            return Err(LineProblem::TooLong);
        }
        std::str::from_utf8(&self.buf).map_err(|_| LineProblem::NotUtf8)
    }
}

/// The next token of a file with one token per line: reads lines until `parse` yields an item
/// (`None` from `parse`: a line that describes no token). A read error ends the file with a fatal
/// item; `done` is set at the end.
pub fn next_item<R: BufRead>(
    lines: &mut LineReader<R>,
    done: &mut bool,
    mut parse: impl FnMut(&str, usize) -> Option<Result<ImportedToken, ItemError>>,
) -> Option<Result<ImportedToken, ItemError>> {
    while !*done {
        match lines.advance() {
            Ok(true) => {}
            Ok(false) => {
                *done = true;
                break;
            }
            Err(e) => {
                *done = true;
                let line = lines.number() + 1;
                return Some(Err(ItemError::fatal(line, format!("read error: {e}"))));
            }
        }
        let number = lines.number();
        match lines.line() {
            Ok(text) => {
                if let Some(item) = parse(text, number) {
                    return Some(item);
                }
            }
            Err(problem) => return Some(Err(ItemError::new(number, None, problem.reason()))),
        }
    }
    None
}

/// True when the input starts (after a BOM and white space) like an ASCII-armoured OpenPGP message.
/// Looks only at what the reader already buffered; consumes nothing.
pub fn looks_like_pgp<R: BufRead>(reader: &mut R) -> bool {
    let Ok(head) = reader.fill_buf() else {
        return false;
    };
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    head[start..].starts_with(b"-----BEGIN PGP MESSAGE-----")
}

/// Splits a CSV line at commas and trims each field. The formats never quote, but a spreadsheet may put
/// double quotes around a field on export: those are removed (a quoted comma is still a separator).
pub fn fields(line: &str) -> Vec<&str> {
    line.split(',')
        .map(|f| {
            let f = f.trim();
            f.strip_prefix('"')
                .and_then(|f| f.strip_suffix('"'))
                .map_or(f, str::trim)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_lines(input: &[u8]) -> Vec<(usize, Result<String, LineProblem>)> {
        let mut r = LineReader::new(input);
        let mut out = Vec::new();
        while r.advance().unwrap() {
            out.push((r.number(), r.line().map(str::to_owned)));
        }
        out
    }

    #[test]
    fn strips_bom_crlf_and_counts_lines() {
        let got = all_lines(b"\xEF\xBB\xBFa,b\r\n\r\nc\n\xEF\xBB\xBFd");
        assert_eq!(
            got,
            vec![
                (1, Ok("a,b".to_owned())),
                (2, Ok(String::new())),
                (3, Ok("c".to_owned())),
                // A BOM is only a BOM at the very start of the file.
                (4, Ok("\u{feff}d".to_owned())),
            ]
        );
    }

    #[test]
    fn long_and_binary_lines_are_reported_not_kept() {
        let mut input = vec![b'x'; MAX_LINE + 10];
        input.extend_from_slice(b"\nok\n\xff\xfe\n");
        let got = all_lines(&input);
        assert_eq!(got[0], (1, Err(LineProblem::TooLong)));
        assert_eq!(got[1], (2, Ok("ok".to_owned())));
        assert_eq!(got[2], (3, Err(LineProblem::NotUtf8)));
    }

    #[test]
    fn fields_are_trimmed_and_unquoted() {
        assert_eq!(fields(" a , \"b\" ,,\" c \",\""), ["a", "b", "", "c", "\""]);
    }

    #[test]
    fn recognises_armoured_pgp() {
        let mut pgp: &[u8] = b"\n  -----BEGIN PGP MESSAGE-----\nVersion: GnuPG v1.4.9\n";
        assert!(looks_like_pgp(&mut pgp));
        let mut csv: &[u8] = b"serial,key\n";
        assert!(!looks_like_pgp(&mut csv));
    }
}
