//! Where the active policy lives while hooks read it and a new one is loaded.
//!
//! Two buffers of `WORDS` words: a load copies the blob into the one no reader uses,
//! checks it there, records its layout beside it and only then makes it active with one
//! store. A reader (a hook, possibly in an interrupt, or the consumer) marks the buffer it
//! reads, then confirms it is still the active one before reading anything; a load refuses
//! (`Busy`) to overwrite a buffer that is marked. So every reader sees the old policy or the
//! new one, whole, and nobody waits.
//!
//! Progress: reads never wait and retry at most once (only when a load finished between
//! their two looks at the active buffer; with a hook in an interrupt on a single core that
//! cannot happen). A load never waits either: a reader preempted while it reads the
//! buffer before last, or a second load running, makes it return `Busy`.

use super::layout::{at, Layout};
use super::{check, flag, Policy, PolicyError};
use crate::sync::{compare_exchange, fetch_add, fetch_sub, seqcst_handshake, AtomicU32, Ordering};

/// The policy store with the build-time budget (`NXSM_POLICY_BYTES`; none without
/// detection).
pub type Policies = PolicyStore<{ crate::config::detection::POLICY_WORDS }>;

/// Why a load did nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The blob breaks a rule of the format.
    Policy(PolicyError),
    /// A reader still reads the buffer the load needs, or another load runs: try again.
    Busy,
}

/// One buffer: the blob's words and, once checked, its layout.
struct Buffer<const WORDS: usize> {
    words: [AtomicU32; WORDS],
    layout: [AtomicU32; at::WORDS],
    readers: AtomicU32,
}

/// Which buffer is active: none, or buffer `n` as `n + 1`.
const NONE: u32 = 0;

/// The active policy and room for the next, `WORDS` words each.
pub struct PolicyStore<const WORDS: usize> {
    buffers: [Buffer<WORDS>; 2],
    active: AtomicU32,
    loading: AtomicU32,
    /// The active policy's block bits ([`flag::BLOCK`]): what a hook tests before anything
    /// else, so that with no block rule it pays one load and one branch.
    block: AtomicU32,
    /// Packets a hook dropped because a block rule matched (wrapping; the consumer folds it
    /// into a 64-bit total).
    blocked: AtomicU32,
}

impl<const WORDS: usize> Buffer<WORDS> {
    #[cfg(not(loom))]
    const fn new() -> Self {
        Self {
            words: [const { AtomicU32::new(0) }; WORDS],
            layout: [const { AtomicU32::new(0) }; at::WORDS],
            readers: AtomicU32::new(0),
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        Self {
            words: core::array::from_fn(|_| AtomicU32::new(0)),
            layout: core::array::from_fn(|_| AtomicU32::new(0)),
            readers: AtomicU32::new(0),
        }
    }
}

impl<const WORDS: usize> Default for PolicyStore<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const WORDS: usize> PolicyStore<WORDS> {
    /// A store without a policy (usable in a `static`: all zero bytes).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            buffers: [Buffer::new(), Buffer::new()],
            active: AtomicU32::new(NONE),
            loading: AtomicU32::new(0),
            block: AtomicU32::new(0),
            blocked: AtomicU32::new(0),
        }
    }

    /// A store without a policy.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            buffers: [Buffer::new(), Buffer::new()],
            active: AtomicU32::new(NONE),
            loading: AtomicU32::new(0),
            block: AtomicU32::new(0),
            blocked: AtomicU32::new(0),
        }
    }

    /// Bytes the largest blob may have.
    pub const BYTES: usize = WORDS * 4;

    /// Checks `blob` and makes it the active policy, returning its layout; on any error the
    /// active policy stays.
    pub fn load(&self, blob: &[u8]) -> Result<Layout, LoadError> {
        if blob.len() > Self::BYTES {
            return Err(LoadError::Policy(PolicyError::TooLarge));
        }
        self.install(|words| {
            for (word, bytes) in words.iter().zip(blob.chunks(4)) {
                let mut le = [0u8; 4];
                for (to, from) in le.iter_mut().zip(bytes) {
                    *to = *from;
                }
                word.store(u32::from_le_bytes(le), Ordering::Relaxed);
            }
            Ok(blob.len())
        })
    }

    /// Makes the blob `fill` writes into the spare buffer (returning its length in bytes)
    /// the active policy, once it passes every check a loaded blob passes. `fill` may read
    /// the active policy meanwhile; on any error the active policy stays.
    pub fn install(
        &self,
        fill: impl FnOnce(&[AtomicU32]) -> Result<usize, PolicyError>,
    ) -> Result<Layout, LoadError> {
        if compare_exchange(&self.loading, 0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Err(LoadError::Busy);
        }
        let result = self.install_in_spare(fill);
        self.loading.store(0, Ordering::Release);
        result
    }

    fn install_in_spare(
        &self,
        fill: impl FnOnce(&[AtomicU32]) -> Result<usize, PolicyError>,
    ) -> Result<Layout, LoadError> {
        // The buffer that is not active (the first when none is).
        let spare = usize::from(self.active.load(Ordering::Acquire) == 1);
        let buffer = self.buffers.get(spare).ok_or(LoadError::Busy)?;
        // The handshake with `enter`: `active` stored (by the load before), then `readers`
        // loaded here; a reader adds to `readers`, then loads `active`. All `SeqCst`, so one
        // of the two sees the other.
        seqcst_handshake();
        if buffer.readers.load(Ordering::SeqCst) != 0 {
            return Err(LoadError::Busy);
        }
        let length = fill(&buffer.words[..]).map_err(LoadError::Policy)?;
        let layout = check(&buffer.words[..], length).map_err(LoadError::Policy)?;
        for (to, from) in buffer.layout.iter().zip(layout.0) {
            to.store(from, Ordering::Relaxed);
        }
        self.active.store(spare as u32 + 1, Ordering::SeqCst);
        self.block
            .store(layout.0[at::FLAGS] & flag::BLOCK, Ordering::Release);
        Ok(layout)
    }

    /// Forgets the active policy: nothing is detected or blocked until the next load.
    /// `Busy` while a load runs.
    pub fn clear(&self) -> Result<(), LoadError> {
        if compare_exchange(&self.loading, 0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Err(LoadError::Busy);
        }
        self.block.store(0, Ordering::Release);
        self.active.store(NONE, Ordering::SeqCst);
        self.loading.store(0, Ordering::Release);
        Ok(())
    }

    /// Counts a packet a hook dropped.
    pub fn count_blocked(&self) {
        fetch_add(&self.blocked, 1, Ordering::Relaxed);
    }

    /// Packets dropped so far (wrapping at 2^32).
    pub fn blocked(&self) -> u32 {
        self.blocked.load(Ordering::Relaxed)
    }

    /// The block bits of the active policy (0 without one).
    #[inline(always)]
    pub fn block(&self) -> u32 {
        self.block.load(Ordering::Relaxed)
    }

    /// Whether a policy is active (a hint: a load may finish right after).
    #[inline(always)]
    pub fn has_policy(&self) -> bool {
        self.active.load(Ordering::Relaxed) != NONE
    }

    /// Runs `f` with the active policy (`None` without one), which stays whole however many
    /// loads finish meanwhile.
    #[inline]
    pub fn read<R>(&self, f: impl FnOnce(Option<Policy<'_, [AtomicU32], [AtomicU32]>>) -> R) -> R {
        match self.enter() {
            Ok(Some(buffer)) => self.read_marked(buffer, f),
            // Two loads finished while this reader was preempted twice: read nothing rather
            // than wait.
            Ok(None) | Err(GaveUp) => f(None),
        }
    }

    /// As [`read`](Self::read), but `None` instead of running `f` when loads kept finishing
    /// while this reader looked (the reader never waits): for callers that must tell "no
    /// policy" from "try again".
    #[inline]
    pub fn try_read<R>(
        &self,
        f: impl FnOnce(Option<Policy<'_, [AtomicU32], [AtomicU32]>>) -> R,
    ) -> Option<R> {
        match self.enter() {
            Ok(Some(buffer)) => Some(self.read_marked(buffer, f)),
            Ok(None) => Some(f(None)),
            Err(GaveUp) => None,
        }
    }

    /// Marks the active buffer as read and returns it (`None` without a policy), retrying
    /// once when a load finished between the two looks at `active`.
    #[inline(always)]
    fn enter(&self) -> Result<Option<&Buffer<WORDS>>, GaveUp> {
        for _ in 0..2 {
            let active = self.active.load(Ordering::SeqCst);
            let Some(buffer) = (active as usize)
                .checked_sub(1)
                .and_then(|n| self.buffers.get(n))
            else {
                return Ok(None);
            };
            fetch_add(&buffer.readers, 1, Ordering::SeqCst);
            seqcst_handshake();
            if self.active.load(Ordering::SeqCst) == active {
                return Ok(Some(buffer));
            }
            // A load finished between the two looks: read the one it made active.
            fetch_sub(&buffer.readers, 1, Ordering::Release);
        }
        Err(GaveUp)
    }

    /// Runs `f` on `buffer`, which [`enter`](Self::enter) marked, and unmarks it.
    #[inline(always)]
    fn read_marked<R>(
        &self,
        buffer: &Buffer<WORDS>,
        f: impl FnOnce(Option<Policy<'_, [AtomicU32], [AtomicU32]>>) -> R,
    ) -> R {
        let result = f(Some(Policy::new(&buffer.words[..], &buffer.layout[..])));
        fetch_sub(&buffer.readers, 1, Ordering::Release);
        result
    }
}

/// A reader saw two loads finish while it looked, and read nothing.
struct GaveUp;

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    use loom::sync::Arc;

    use crate::policy::{crc32, field, flag, MAGIC, VERSION};

    /// Room for the two 15-word test blobs.
    const WORDS: usize = 16;

    /// A 15-word blob: the header and one word of ports, TCP port `port` (with `tcp`) or UDP
    /// ports `port` and `port + 1`, and the connection rule `(limit, limit)`. The two blobs
    /// made below differ in their flags, CRC, connection words, port counts and port word.
    fn blob(tcp: bool, port: u16, limit: u32) -> Vec<u8> {
        let mut w = [0u32; field::HEADER_WORDS + 1];
        w[field::MAGIC] = MAGIC;
        w[field::VERSION] = VERSION;
        w[field::LENGTH] = (w.len() * 4) as u32;
        (w[field::CONNECTIONS_MIN], w[field::CONNECTIONS_MAX]) = (limit, limit);
        if tcp {
            w[field::FLAGS] = flag::INBOUND_TCP | flag::CONNECTIONS;
            w[field::TCP_PORTS] = 1;
            w[field::HEADER_WORDS] = u32::from(port);
        } else {
            w[field::FLAGS] = flag::INBOUND_UDP | flag::CONNECTIONS;
            w[field::UDP_PORTS] = 2;
            w[field::HEADER_WORDS] = u32::from(port) | u32::from(port + 1) << 16;
        }
        let mut bytes: Vec<u8> = w.iter().flat_map(|word| word.to_le_bytes()).collect();
        let crc = crc32(&bytes[..], w.len());
        bytes[field::CRC32 * 4..field::CRC32 * 4 + 4].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// What a reader looks at: from the layout its CRC, flags and connection minimum, from the
    /// blob's words its CRC, connection minimum and port word.
    type Seen = [u32; 6];

    fn seen(policy: &Policy<'_, [AtomicU32], [AtomicU32]>) -> Seen {
        [
            policy.crc32(),
            policy.flags(),
            policy.connections().map_or(0, |(min, _)| min),
            policy.words[field::CRC32].load(Ordering::Relaxed),
            policy.words[field::CONNECTIONS_MIN].load(Ordering::Relaxed),
            policy.words[field::HEADER_WORDS].load(Ordering::Relaxed),
        ]
    }

    /// What a reader must see of `blob` when it is the active policy.
    fn expected(blob: &[u8]) -> Seen {
        let word = |at: usize| u32::from_le_bytes(blob[at * 4..at * 4 + 4].try_into().unwrap());
        [
            word(field::CRC32),
            word(field::FLAGS),
            word(field::CONNECTIONS_MIN),
            word(field::CRC32),
            word(field::CONNECTIONS_MIN),
            word(field::HEADER_WORDS),
        ]
    }

    /// From A then B loaded, one thread loads B then A (either may be refused as `Busy`)
    /// while another reads twice:
    /// every read sees A wholly or B wholly (layout and words from one blob), never a mix,
    /// and never "no policy" (one is always active); it may give up (`try_read`'s `None`)
    /// only when loads kept finishing while it looked. Interleavings with up to three
    /// preemptions are explored (about a second in release): a torn read needs one or two
    /// (a load overwriting the buffer a preempted reader is in), and removing either the
    /// loader's `readers` check or the reader's second look at `active` makes it fail.
    #[test]
    fn readers_see_one_whole_policy_while_loads_flip() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let (a, b) = (blob(true, 22, 1), blob(false, 53, 2));
            let (seen_a, seen_b) = (expected(&a), expected(&b));
            assert_ne!(seen_a, seen_b);
            for i in 0..seen_a.len() {
                assert_ne!(seen_a[i], seen_b[i], "A and B differ in every word read");
            }
            let store: Arc<PolicyStore<WORDS>> = Arc::new(PolicyStore::new());
            // Buffer 0 holds A, buffer 1 holds B and is active: each load below then writes
            // the other blob over a buffer's words (B over A, then A over B, the one the
            // reader may still be in), so a load that overwrote a buffer under a reader
            // would show as a mix.
            store.load(&a).expect("an idle store loads");
            store.load(&b).expect("an idle store loads");

            let loader = {
                let store = store.clone();
                loom::thread::spawn(move || {
                    for blob in [&b, &a] {
                        match store.load(blob) {
                            Ok(_) | Err(LoadError::Busy) => {}
                            Err(error) => panic!("a valid blob refused: {error:?}"),
                        }
                    }
                })
            };
            for _ in 0..2 {
                match store.try_read(|policy| policy.map(|policy| seen(&policy))) {
                    Some(Some(seen)) => {
                        assert!(seen == seen_a || seen == seen_b, "a mix: {seen:x?}")
                    }
                    Some(None) => panic!("no policy while one is always active"),
                    None => {} // gave up: two loads finished while it looked
                }
            }
            loader.join().unwrap();
        });
    }
}
