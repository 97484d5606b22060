//! A bounded queue of finished messages, in one fixed byte array.
//!
//! Messages wait here while no hub is connected or sends fail, and leave oldest first.
//! Each is stored contiguously behind a 6-byte header (length, sequence number) so that
//! the hub client can send it straight from here without a copy. The array is used as a
//! ring: a message that does not fit before the end starts again at the front, and a
//! length of `0xFFFF` marks the skipped tail. When a new message finds no room, the oldest
//! ones are dropped and counted: the only way a message is lost.
//!
//! Alert messages are the last to go: a message that is not an alert never drops one to
//! make room (it is refused instead), while an alert drops the oldest messages of any kind.
//! A flag in the stored length marks them.
//!
//! The oldest message can be lent out ([`Outbox::lend_front`](crate::outbox::Outbox::lend_front)): its bytes then stay where
//! they are, unchanged, until [`Outbox::returned`](crate::outbox::Outbox::returned) or [`Outbox::pop_sent`](crate::outbox::Outbox::pop_sent), because the
//! transport reads them without holding anything. Making room never drops a lent message;
//! a message that finds no room without doing so is refused instead.

/// Bytes in front of every stored message: length (u16) and sequence number (u32).
pub const HEADER: usize = 6;
const WRAP: u16 = 0xFFFF;
/// Bit of a stored length that marks an alert message.
const ALERT: u16 = 0x8000;

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
    /// The oldest message is lent to the transport: nothing may move or drop it.
    lent: bool,
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
            lent: false,
            counters: OutboxCounters {
                built: 0,
                sent: 0,
                dropped: 0,
            },
        }
    }

    /// Stores a message of at most `len` bytes numbered `sequence`: makes room (dropping
    /// the oldest messages if it must, never a lent one), lets `write` fill the room and
    /// keeps what it reports written. Returns false, storing nothing, when `len` can never
    /// fit, only a lent message stands in the way, or `write` fails.
    pub fn push(
        &mut self,
        sequence: u32,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        self.store(sequence, len, false, write)
    }

    /// Stores an alert message as [`push`](Self::push) stores others, except that it may
    /// drop messages of any kind to make room, and none but another alert drops it.
    pub fn push_alert(
        &mut self,
        sequence: u32,
        len: usize,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        self.store(sequence, len, true, write)
    }

    fn store(
        &mut self,
        sequence: u32,
        len: usize,
        alert: bool,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        let need = HEADER + len;
        if len >= usize::from(ALERT - 1) || need > N {
            return false;
        }
        let Some(at) = self.make_room(need, alert) else {
            return false;
        };
        let Some(room) = self.bytes.get_mut(at + HEADER..at + need) else {
            return false;
        };
        let Some(written) = write(room).filter(|written| *written <= len) else {
            return false;
        };
        let flag = if alert { ALERT } else { 0 };
        self.put_header(at, written as u16 | flag, sequence);
        self.tail = at + HEADER + written;
        self.count += 1;
        self.counters.built = self.counters.built.saturating_add(1);
        self.peak = self.peak.max(self.used_bytes());
        true
    }

    /// Whether a message of `len` bytes fits now without dropping any other.
    pub fn has_room(&self, len: usize) -> bool {
        let need = HEADER + len;
        len < usize::from(ALERT - 1) && need <= N && self.free_at(need).is_some()
    }

    /// The oldest message, lent to the transport: it stays, unchanged, until it is
    /// [`returned`](Self::returned) or [`pop_sent`](Self::pop_sent).
    pub fn lend_front(&mut self) -> Option<(u32, &[u8])> {
        self.lent = self.count != 0;
        self.front()
    }

    /// The lent message came back unsent: it may be dropped again to make room.
    pub fn returned(&mut self) {
        self.lent = false;
    }

    /// Whether the oldest message is lent out.
    #[cfg(test)]
    pub fn is_lent(&self) -> bool {
        self.lent
    }

    /// The oldest message: its sequence number and bytes.
    pub fn front(&self) -> Option<(u32, &[u8])> {
        if self.count == 0 {
            return None;
        }
        let (len, sequence) = self.header(self.head);
        let start = self.head + HEADER;
        let bytes = self.bytes.get(start..start + usize::from(len & !ALERT))?;
        Some((sequence, bytes))
    }

    /// Removes the oldest message because it was sent (lent or not).
    pub fn pop_sent(&mut self) -> bool {
        self.lent = false;
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
    #[cfg(test)]
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

    /// Where `need` contiguous free bytes start, if there are (`need <= N` was checked).
    fn free_at(&self, need: usize) -> Option<usize> {
        if self.count == 0 {
            return Some(0);
        }
        if self.tail > self.head {
            if N - self.tail >= need {
                return Some(self.tail);
            }
            if self.head >= need {
                return Some(0);
            }
        } else if self.head - self.tail >= need {
            return Some(self.tail);
        }
        None
    }

    /// Returns where `need` contiguous bytes start, dropping the oldest messages until
    /// there are (`need <= N` was checked); `None` when only a lent message, or for a
    /// message that is not an `alert` an alert message, is left to drop.
    fn make_room(&mut self, need: usize, alert: bool) -> Option<usize> {
        loop {
            if self.count == 0 {
                self.head = 0;
                self.tail = 0;
                return Some(0);
            }
            if let Some(at) = self.free_at(need) {
                if at == 0 && self.tail > self.head {
                    // Wrapping: mark the skipped tail so the reader jumps to the front.
                    if N - self.tail >= 2 {
                        self.put_len(self.tail, WRAP);
                    }
                    self.tail = 0;
                }
                return Some(at);
            }
            if self.lent || (!alert && self.header(self.head).0 & ALERT != 0) {
                return None;
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
        self.head += HEADER + usize::from(len & !ALERT);
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
    fn alerts_are_the_last_to_go() {
        let mut outbox = Outbox::<64>::new();
        let alert = |outbox: &mut Outbox<64>, sequence: u32| {
            outbox.push_alert(sequence, 14, |room| {
                room.fill(0xA0 | sequence as u8);
                Some(room.len())
            })
        };
        // 20 bytes each: a report, an alert, a report fill 60 of 64 bytes.
        assert!(push(&mut outbox, 0, 14));
        assert!(alert(&mut outbox, 1));
        assert!(push(&mut outbox, 2, 14));
        // A report drops the oldest report, then finds the alert in its way: refused.
        assert!(push(&mut outbox, 3, 14));
        assert_eq!(outbox.front().map(|f| f.0), Some(1));
        assert!(!push(&mut outbox, 4, 14));
        assert_eq!(outbox.front(), Some((1, &[0xA1u8; 14][..])));
        assert_eq!(outbox.len(), 3);
        // An alert drops the oldest messages whatever they are.
        assert!(alert(&mut outbox, 5));
        assert!(alert(&mut outbox, 6));
        let order: std::vec::Vec<u32> =
            core::iter::from_fn(|| outbox.front().map(|f| f.0).filter(|_| outbox.pop_sent()))
                .collect();
        assert_eq!(order, [3, 5, 6]);
        assert_eq!(outbox.counters().dropped, 3);
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

    #[test]
    fn a_lent_message_is_never_dropped_or_moved() {
        let mut outbox = Outbox::<64>::new();
        for sequence in 0..3 {
            assert!(push(&mut outbox, sequence, 14)); // 20 bytes each
        }
        let (sequence, bytes) = outbox.lend_front().unwrap();
        let at = bytes.as_ptr();
        assert_eq!(sequence, 0);
        // Making room would have to drop the lent message first: the new one is refused.
        assert!(!outbox.has_room(14));
        assert!(!push(&mut outbox, 3, 14));
        assert_eq!(outbox.counters().dropped, 0);
        assert_eq!(outbox.len(), 3);
        let (front, bytes) = outbox.front().unwrap();
        assert_eq!((front, bytes.as_ptr()), (0, at));
        assert!(bytes.iter().all(|b| *b == 0));
        // Returned unsent, it may go to make room again.
        outbox.returned();
        assert!(push(&mut outbox, 5, 50));
        assert_eq!(outbox.front().map(|f| f.0), Some(5));
        assert_eq!(outbox.counters().dropped, 3);
        assert!(!outbox.is_lent());
    }

    /// `has_room` says exactly whether a push would drop nothing.
    #[test]
    fn has_room_predicts_a_push_without_drops() {
        let mut outbox = Outbox::<200>::new();
        let mut state = 0x9E37_79B9u32;
        for sequence in 0..5_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            if state % 4 == 0 {
                outbox.pop_sent();
                continue;
            }
            let len = (state >> 8) as usize % 90;
            let room = outbox.has_room(len);
            let dropped = outbox.counters().dropped;
            assert!(push(&mut outbox, sequence, len));
            assert_eq!(room, outbox.counters().dropped == dropped, "{sequence}");
        }
    }
}
