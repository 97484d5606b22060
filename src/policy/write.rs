//! Writing a blob on the device (learn mode turns a baseline into a policy): word by word
//! into a store's spare buffer, with the header filled in last. The store then checks the
//! result exactly as it checks a loaded blob.

use super::check::crc32;
use super::format::{field, PolicyError, MAGIC, VERSION};
use crate::sync::{AtomicU32, Ordering};

/// Writes a blob into `words`, after the header.
pub struct BlobWriter<'a> {
    words: &'a [AtomicU32],
    at: usize,
}

impl<'a> BlobWriter<'a> {
    /// A writer whose first section word goes right after the header.
    pub fn new(words: &'a [AtomicU32]) -> Self {
        Self {
            words,
            at: field::HEADER_WORDS,
        }
    }

    /// Appends a word; `TooLarge` past the buffer.
    pub fn push(&mut self, word: u32) -> Result<(), PolicyError> {
        self.words
            .get(self.at)
            .ok_or(PolicyError::TooLarge)?
            .store(word, Ordering::Relaxed);
        self.at += 1;
        Ok(())
    }

    /// Appends 16-bit values two per word, low half first.
    pub fn push_halves(&mut self, values: impl Iterator<Item = u16>) -> Result<(), PolicyError> {
        let mut pending: Option<u32> = None;
        for value in values {
            match pending.take() {
                None => pending = Some(u32::from(value)),
                Some(low) => self.push(low | u32::from(value) << 16)?,
            }
        }
        match pending {
            Some(low) => self.push(low),
            None => Ok(()),
        }
    }

    /// Fills in the header (`header[i]` is header word `i`; magic, version, length and CRC
    /// are set here) and returns the blob's length in bytes.
    pub fn finish(self, mut header: [u32; field::HEADER_WORDS]) -> Result<usize, PolicyError> {
        let length = self.at * 4;
        header[field::MAGIC] = MAGIC;
        header[field::VERSION] = VERSION;
        header[field::LENGTH] = u32::try_from(length).map_err(|_| PolicyError::TooLarge)?;
        header[field::CRC32] = 0;
        for (slot, word) in self.words.iter().zip(header) {
            slot.store(word, Ordering::Relaxed);
        }
        let crc = crc32(self.words, self.at);
        self.words
            .get(field::CRC32)
            .ok_or(PolicyError::TooLarge)?
            .store(crc, Ordering::Relaxed);
        Ok(length)
    }
}
