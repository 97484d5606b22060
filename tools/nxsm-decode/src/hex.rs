//! Hex text input: one message per line, whitespace anywhere, `#` starts a comment.

use std::fmt;

/// Why a line is not hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HexError {
    /// A byte that is neither a hex digit nor whitespace (1-based column).
    BadChar {
        /// The byte.
        byte: u8,
        /// Its column, counting from 1.
        column: usize,
    },
    /// An odd number of hex digits.
    OddDigits(usize),
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::BadChar { byte, column } if byte.is_ascii_graphic() => {
                write!(f, "not a hex digit: {:?} at column {column}", *byte as char)
            }
            HexError::BadChar { byte, column } => {
                write!(f, "not a hex digit: byte {byte:#04x} at column {column}")
            }
            HexError::OddDigits(n) => write!(f, "odd number of hex digits ({n})"),
        }
    }
}

impl std::error::Error for HexError {}

/// The part of a line before its comment.
fn strip_comment(line: &[u8]) -> &[u8] {
    match line.iter().position(|&b| b == b'#') {
        Some(at) => &line[..at],
        None => line,
    }
}

fn digit(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The bytes of one hex line (empty for a blank or comment-only line).
pub fn parse_line(line: impl AsRef<[u8]>) -> Result<Vec<u8>, HexError> {
    let line = strip_comment(line.as_ref());
    let mut digits = Vec::with_capacity(line.len());
    for (at, &byte) in line.iter().enumerate() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        match digit(byte) {
            Some(d) => digits.push(d),
            None => {
                return Err(HexError::BadChar {
                    byte,
                    column: at + 1,
                })
            }
        }
    }
    if digits.len() % 2 != 0 {
        return Err(HexError::OddDigits(digits.len()));
    }
    Ok(digits.chunks_exact(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// Whether input looks like hex text rather than raw bytes: outside comments, only hex
/// digits and whitespace. (A raw message starts with the format byte, 0x02 or 0x03: never
/// text.)
pub fn looks_like_hex(input: &[u8]) -> bool {
    input.split(|&b| b == b'\n').all(|line| {
        strip_comment(line)
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
    })
}

/// Whether input is printable text (UTF-8 without control characters other than tab, CR and
/// LF). A raw message never is: its first byte, the format, is 0x02 or 0x03.
pub fn looks_like_text(input: &[u8]) -> bool {
    std::str::from_utf8(input).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
    })
}

/// How input of unknown kind is read: as hex text when it holds only hex digits, whitespace
/// and comments, or is printable text at all (so that a typo is reported at its line);
/// otherwise as the raw bytes of one message.
pub fn auto_is_hex(input: &[u8]) -> bool {
    looks_like_hex(input) || looks_like_text(input)
}

/// Lower-case hex of bytes, no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(DIGITS[usize::from(b >> 4)] as char);
        text.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(parse_line("01 0a FF # c0mment").unwrap(), vec![1, 10, 255]);
        assert_eq!(parse_line("\t0 1\r").unwrap(), vec![1]);
        assert_eq!(parse_line("   # only").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_line("abc"), Err(HexError::OddDigits(3)));
        assert_eq!(
            parse_line("01 zz"),
            Err(HexError::BadChar {
                byte: b'z',
                column: 4
            })
        );
        assert_eq!(to_hex(&[0, 0xab, 0x10]), "00ab10");
    }

    #[test]
    fn detection() {
        assert!(looks_like_hex(b"# a comment\n0104 6e78\n\n"));
        assert!(looks_like_hex(b""));
        assert!(!looks_like_hex(&[1, 4, b'n', b'x', b's', b'm']));
        assert!(!looks_like_hex(b"0x01"));
        assert!(auto_is_hex(b"0x01\n0104 zz\n"));
        assert!(auto_is_hex("# caf\u{e9}\n01".as_bytes()));
        assert!(!auto_is_hex(&[1, 4, b'n', b'x', b's', b'm']));
        assert!(!auto_is_hex(&[0xff, 0xfe]));
    }
}
