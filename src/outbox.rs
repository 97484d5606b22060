//! A bounded queue of finished messages, in one fixed byte array.
//!
//! Messages wait here while no hub is connected or sends fail, and leave oldest first.
//! Each is stored contiguously behind a 6-byte header (length, sequence number) so that
//! the hub client can send it straight from here without a copy. The array is used as a
//! ring: a message that does not fit before the end starts again at the front, and a
//! length of `0xFFFF` marks the skipped tail. When a new message finds no room, the oldest
//! ones are dropped and counted: the only way a message is lost.

/// Bytes in front of every stored message: length (u16) and sequence number (u32).
pub const HEADER: usize = 6;
const WRAP: u16 = 0xFFFF;

/// What happened to messages so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxCounters {
    /// Messages stored.
    pub built: u32,
    /// Messages removed because the hub client took them.
    pub sent: u32,
    /// Messages dropped unsent to make room.
    pub dropped: u32,
}

/// A queue of messages in `N` bytes.
#[derive(Debug)]
pub struct Outbox<const N: usize> {
    bytes: [u8; N],
    /// Start of the oldest message's header.
    head: usize,
    /// Where the next message's header goes.
    tail: usize,
    count: usize,
    peak: usize,
    counters: OutboxCounters,
}

impl<const N: usize> Default for Outbox<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Outbox<N> {
    /// An empty outbox (all zero bytes, so a `static` of it lands in `.bss`).
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            head: 0,
            tail: 0,
            count: 0,
            peak: 0,
            counters: OutboxCounters {
                built: 0,
                sent: 0,
                dropped: 0,
            },
        }
    }

    /// Stores a message of at most `len` bytes numbered `sequence`: makes room (dropping
    /// the oldest messages if it must), lets `write` fill the room and keeps what it
    /// reports written. Returns false, storing nothing, when `len` can never fit or
    /// `write` fails.
    pub fn push(
        &mut self,
        sequence: u32,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        let need = HEADER + len;
        if len >= usize::from(WRAP) || need > N {
            return false;
        }
        let at = self.make_room(need);
        let Some(room) = self.bytes.get_mut(at + HEADER..at + need) else {
            return false;
        };
        let Some(written) = write(room).filter(|written| *written <= len) else {
            return false;
        };
        self.put_header(at, written as u16, sequence);
        self.tail = at + HEADER + written;
        self.count += 1;
        self.counters.built = self.counters.built.saturating_add(1);
        self.peak = self.peak.max(self.used_bytes());
        true
    }

    /// The oldest message: its sequence number and bytes.
    pub fn front(&self) -> Option<(u32, &[u8])> {
        if self.count == 0 {
            return None;
        }
        let (len, sequence) = self.header(self.head);
        let start = self.head + HEADER;
        let bytes = self.bytes.get(start..start + usize::from(len))?;
        Some((sequence, bytes))
    }

    /// Removes the oldest message because it was sent.
    pub fn pop_sent(&mut self) -> bool {
        let popped = self.pop();
        if popped {
            self.counters.sent = self.counters.sent.saturating_add(1);
        }
        popped
    }

    /// Messages waiting.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no message waits.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the waiting messages occupy (headers and a skipped tail included).
    pub fn used_bytes(&self) -> usize {
        match self.count {
            0 => 0,
            _ if self.tail > self.head => self.tail - self.head,
            _ => N - self.head + self.tail,
        }
    }

    /// Most bytes ever occupied at once.
    pub fn peak_bytes(&self) -> usize {
        self.peak
    }

    /// Messages stored, sent and dropped so far.
    pub fn counters(&self) -> OutboxCounters {
        self.counters
    }

    /// Returns where `need` contiguous bytes start, dropping the oldest messages until
    /// there are (`need <= N` was checked).
    fn make_room(&mut self, need: usize) -> usize {
        loop {
            if self.count == 0 {
                self.head = 0;
                self.tail = 0;
                return 0;
            }
            if self.tail > self.head {
                if N - self.tail >= need {
                    return self.tail;
                }
                if self.head >= need {
                    if N - self.tail >= 2 {
                        self.put_len(self.tail, WRAP);
                    }
                    self.tail = 0;
                    return 0;
                }
            } else if self.head - self.tail >= need {
                return self.tail;
            }
            if self.pop() {
                self.counters.dropped = self.counters.dropped.saturating_add(1);
            }
        }
    }

    fn pop(&mut self) -> bool {
        if self.count == 0 {
            return false;
        }
        let (len, _) = self.header(self.head);
        self.head += HEADER + usize::from(len);
        self.count -= 1;
        if self.count == 0 {
            self.head = 0;
            self.tail = 0;
        } else if N - self.head < HEADER || self.header(self.head).0 == WRAP {
            self.head = 0;
        }
        true
    }

    fn header(&self, at: usize) -> (u16, u32) {
        // Slice patterns: one bounds check per field instead of one per byte.
        let len = match self.bytes.get(at..at.saturating_add(2)) {
            Some(&[low, high]) => u16::from_le_bytes([low, high]),
            _ => 0,
        };
        let sequence = match self
            .bytes
            .get(at.saturating_add(2)..at.saturating_add(HEADER))
        {
            Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
            _ => 0,
        };
        (len, sequence)
    }

    // Slice patterns rather than `copy_from_slice`: the lengths are then part of the match,
    // and no length-mismatch panic path is left for the firmware build.
    fn put_len(&mut self, at: usize, len: u16) {
        if let Some([low, high]) = self.bytes.get_mut(at..at.saturating_add(2)) {
            [*low, *high] = len.to_le_bytes();
        }
    }

    fn put_header(&mut self, at: usize, len: u16, sequence: u32) {
        self.put_len(at, len);
        if let Some([a, b, c, d]) = self
            .bytes
            .get_mut(at.saturating_add(2)..at.saturating_add(HEADER))
        {
            [*a, *b, *c, *d] = sequence.to_le_bytes();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn push<const N: usize>(outbox: &mut Outbox<N>, sequence: u32, len: usize) -> bool {
        outbox.push(sequence, len, |room| {
            room.fill(sequence as u8);
            Some(room.len())
        })
    }

    #[test]
    fn messages_leave_oldest_first() {
        let mut outbox = Outbox::<64>::new();
        assert!(push(&mut outbox, 1, 10));
        assert!(push(&mut outbox, 2, 20));
        assert_eq!(outbox.front(), Some((1, &[1u8; 10][..])));
        assert!(outbox.pop_sent());
        assert_eq!(outbox.front(), Some((2, &[2u8; 20][..])));
        assert!(outbox.pop_sent());
        assert_eq!(outbox.front(), None);
        assert!(!outbox.pop_sent());
        assert_eq!(
            outbox.counters(),
            OutboxCounters {
                built: 2,
                sent: 2,
                dropped: 0
            }
        );
        assert_eq!(outbox.peak_bytes(), 2 * HEADER + 30);
    }

    #[test]
    fn a_full_outbox_drops_the_oldest_and_counts_it() {
        let mut outbox = Outbox::<64>::new();
        for sequence in 0..3 {
            assert!(push(&mut outbox, sequence, 14)); // 20 bytes each
        }
        assert!(push(&mut outbox, 3, 14));
        assert_eq!(outbox.counters().dropped, 1);
        assert_eq!(outbox.front().map(|f| f.0), Some(1));
        assert_eq!(outbox.len(), 3);
    }

    #[test]
    fn too_large_or_failed_writes_store_nothing() {
        let mut outbox = Outbox::<64>::new();
        assert!(!push(&mut outbox, 0, 59));
        assert!(!outbox.push(1, 10, |_| None));
        assert!(!outbox.push(2, 10, |_| Some(11)));
        assert!(outbox.is_empty());
        assert_eq!(outbox.counters().built, 0);
    }

    #[test]
    fn a_shorter_write_keeps_only_what_was_written() {
        let mut outbox = Outbox::<64>::new();
        assert!(outbox.push(9, 40, |room| {
            room[..3].copy_from_slice(b"abc");
            Some(3)
        }));
        assert_eq!(outbox.front(), Some((9, &b"abc"[..])));
        assert_eq!(outbox.used_bytes(), HEADER + 3);
    }

    /// Random pushes and sends against a model: order, contents and accounting agree, and
    /// every message built is either sent, dropped or still waiting.
    #[test]
    fn matches_a_model_under_random_use() {
        let mut outbox = Outbox::<200>::new();
        let mut model: VecDeque<(u32, usize)> = VecDeque::new();
        let mut state = 0x1234_5678u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut sequence = 0;
        for _ in 0..20_000 {
            if next() % 3 == 0 {
                let sent = outbox.pop_sent();
                assert_eq!(sent, model.pop_front().is_some());
            } else {
                let len = (next() % 80) as usize;
                assert!(push(&mut outbox, sequence, len));
                model.push_back((sequence, len));
                // Drop from the model what the outbox dropped.
                let kept = outbox.len();
                while model.len() > kept {
                    model.pop_front();
                }
                sequence += 1;
            }
            assert_eq!(outbox.len(), model.len());
            if let Some(&(sequence, len)) = model.front() {
                let (got_sequence, bytes) = outbox.front().unwrap();
                assert_eq!((got_sequence, bytes.len()), (sequence, len));
                assert!(bytes.iter().all(|b| *b == sequence as u8));
            }
            assert!(outbox.used_bytes() <= 200);
            let c = outbox.counters();
            assert_eq!(c.built, c.sent + c.dropped + outbox.len() as u32);
        }
        assert!(outbox.counters().dropped > 0 && outbox.counters().sent > 0);
    }
}
