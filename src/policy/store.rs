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
use crate::sync::{compare_exchange, fetch_add, fetch_sub, AtomicU32, Ordering};

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
        if compare_exchange(&self.loading, 0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
            return Err(LoadError::Busy);
        }
        let result = self.load_into_spare(blob);
        self.loading.store(0, Ordering::Release);
        result
    }

    fn load_into_spare(&self, blob: &[u8]) -> Result<Layout, LoadError> {
        // The buffer that is not active (the first when none is).
        let spare = usize::from(self.active.load(Ordering::Acquire) == 1);
        let buffer = self.buffers.get(spare).ok_or(LoadError::Busy)?;
        if buffer.readers.load(Ordering::SeqCst) != 0 {
            return Err(LoadError::Busy);
        }
        for (word, bytes) in buffer.words.iter().zip(blob.chunks(4)) {
            let mut le = [0u8; 4];
            for (to, from) in le.iter_mut().zip(bytes) {
                *to = *from;
            }
            word.store(u32::from_le_bytes(le), Ordering::Relaxed);
        }
        let layout = check(&buffer.words[..], blob.len()).map_err(LoadError::Policy)?;
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

    /// The block bits of the active policy (0 without one).
    #[inline(always)]
    pub fn block(&self) -> u32 {
        self.block.load(Ordering::Relaxed)
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
