//! Checks a blob completely before it is used: on success every lookup can trust the
//! layout it returns (sorted, disjoint ranges; indexes that match; counts inside the blob).

use super::format::{
    field, flag, PolicyError, HEADER_BYTES, INDEX_ENTRIES, INDEX_WORDS, MAGIC, MAX_SIXTEEN_BIT,
    RANGE_V4_WORDS, RANGE_V6_WORDS, VERSION,
};
use super::layout::{at, half, Fields, Layout, Words};

/// Checks the `length`-byte blob in `words`, returning where its sections are.
pub fn check<W: Words + ?Sized>(words: &W, length: usize) -> Result<Layout, PolicyError> {
    if length < HEADER_BYTES || length % 4 != 0 || words.word(field::LENGTH) as usize != length {
        return Err(PolicyError::Truncated);
    }
    if words.word(field::MAGIC) != MAGIC {
        return Err(PolicyError::Magic);
    }
    if words.word(field::VERSION) != VERSION {
        return Err(PolicyError::Version);
    }
    if crc32(words, length / 4) != words.word(field::CRC32) {
        return Err(PolicyError::Checksum);
    }
    let flags = words.word(field::FLAGS);
    check_rules(words, flags)?;
    let layout = place(words, flags, length / 4)?;
    check_sections(words, &layout)?;
    Ok(layout)
}

/// The CRC-32 (IEEE, reflected) of the first `count` words, word [`field::CRC32`] taken as
/// 0. Bit by bit: no table in flash, and a load is rare.
pub fn crc32<W: Words + ?Sized>(words: &W, count: usize) -> u32 {
    let mut crc = u32::MAX;
    for index in 0..count {
        let word = if index == field::CRC32 {
            0
        } else {
            words.word(index)
        };
        for byte in word.to_le_bytes() {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
    }
    !crc
}

/// The flags and counts agree with one another.
fn check_rules<W: Words + ?Sized>(words: &W, flags: u32) -> Result<(), PolicyError> {
    let count = |at| words.word(at);
    let present = |bit| flags & bit != 0;
    let (min, max) = (count(field::CONNECTIONS_MIN), count(field::CONNECTIONS_MAX));
    let broken = flags & !flag::KNOWN != 0
        || (present(flag::BLOCK_OUTBOUND) && !present(flag::OUTBOUND_ALLOWED))
        || (present(flag::BLOCK_INBOUND_PORT)
            && !present(flag::INBOUND_TCP)
            && !present(flag::INBOUND_UDP))
        || (!present(flag::OUTBOUND_ALLOWED)
            && (count(field::ALLOWED_V4) != 0
                || count(field::ALLOWED_V6) != 0
                || present(flag::ALLOWED_V4_INDEX)))
        || (!present(flag::INBOUND_TCP) && count(field::TCP_PORTS) != 0)
        || (!present(flag::INBOUND_UDP) && count(field::UDP_PORTS) != 0)
        || if present(flag::CONNECTIONS) {
            min > max
        } else {
            min != 0 || max != 0
        }
        || count(field::SOURCES) > MAX_SIXTEEN_BIT
        || (present(flag::INDICATORS_V4_INDEX) && count(field::INDICATORS_V4) > MAX_SIXTEEN_BIT)
        || (present(flag::ALLOWED_V4_INDEX) && count(field::ALLOWED_V4) > MAX_SIXTEEN_BIT);
    if broken {
        Err(PolicyError::Rules)
    } else {
        Ok(())
    }
}

/// Lays the sections out one after the other from the counts; they must end exactly at
/// `total` words. Counts are 32-bit and multiplied in 64 bits, so no count can wrap.
fn place<W: Words + ?Sized>(words: &W, flags: u32, total: usize) -> Result<Layout, PolicyError> {
    let mut layout = Layout::default();
    let mut next = field::HEADER_WORDS as u64;
    let mut take = |words_each: u64, count: u32| -> u32 {
        let start = next;
        next += words_each * u64::from(count);
        // Offsets past the blob are never used: the total check below refuses the blob.
        u32::try_from(start).unwrap_or(u32::MAX)
    };
    let halves = |count: u32| count.div_ceil(2);
    let present = |bit| u32::from(flags & bit != 0);
    let count = |at| words.word(at);
    let l = &mut layout.0;

    let n = count(field::INDICATORS_V4);
    l[at::INDICATORS_V4] = take(RANGE_V4_WORDS as u64, n);
    l[at::INDICATORS_V4 + at::COUNT] = n;
    l[at::INDICATORS_V4 + at::SOURCES] = take(1, halves(n));
    let index = take(INDEX_WORDS as u64, present(flag::INDICATORS_V4_INDEX));
    l[at::INDICATORS_V4 + at::INDICATOR_INDEX] = index * present(flag::INDICATORS_V4_INDEX);

    let n = count(field::INDICATORS_V6);
    l[at::INDICATORS_V6] = take(RANGE_V6_WORDS as u64, n);
    l[at::INDICATORS_V6 + at::COUNT] = n;
    l[at::INDICATORS_V6 + at::SOURCES] = take(1, halves(n));

    let n = count(field::ALLOWED_V4);
    l[at::ALLOWED_V4] = take(RANGE_V4_WORDS as u64, n);
    l[at::ALLOWED_V4 + at::COUNT] = n;
    let index = take(INDEX_WORDS as u64, present(flag::ALLOWED_V4_INDEX));
    l[at::ALLOWED_V4 + at::ALLOWED_INDEX] = index * present(flag::ALLOWED_V4_INDEX);

    let n = count(field::ALLOWED_V6);
    l[at::ALLOWED_V6] = take(RANGE_V6_WORDS as u64, n);
    l[at::ALLOWED_V6 + at::COUNT] = n;

    // Written out, not looped over: constant indexes leave no bounds check (and so no panic
    // path) in the firmware build.
    let n = count(field::TCP_PORTS);
    l[at::TCP_PORTS] = take(1, halves(n));
    l[at::TCP_PORTS + at::COUNT] = n;
    let n = count(field::UDP_PORTS);
    l[at::UDP_PORTS] = take(1, halves(n));
    l[at::UDP_PORTS + at::COUNT] = n;
    if next != total as u64 {
        return Err(PolicyError::Counts);
    }
    l[at::FLAGS] = flags;
    l[at::CRC32] = words.word(field::CRC32);
    l[at::CONNECTIONS_MIN] = words.word(field::CONNECTIONS_MIN);
    l[at::CONNECTIONS_MAX] = words.word(field::CONNECTIONS_MAX);
    Ok(layout)
}

/// Every section's content: ranges, sources, indexes, ports.
fn check_sections<W: Words + ?Sized>(words: &W, layout: &Layout) -> Result<(), PolicyError> {
    let l = &layout.0;
    let sources = words.word(field::SOURCES);
    // Through `field` (0 past the end), not indexing: no panic path even where the optimizer
    // does not see the offsets are constants.
    let list = |start: usize| {
        (
            layout.field(start) as usize,
            layout.field(start + at::COUNT) as usize,
        )
    };

    let (start, count) = list(at::INDICATORS_V4);
    check_ranges::<W, 1>(words, start, count)?;
    check_halves(
        words,
        l[at::INDICATORS_V4 + at::SOURCES] as usize,
        count,
        |source, _| source < sources,
    )
    .map_err(|_| PolicyError::Source)?;
    check_index(
        words,
        start,
        count,
        l[at::INDICATORS_V4 + at::INDICATOR_INDEX] as usize,
    )?;

    let (start, count) = list(at::INDICATORS_V6);
    check_ranges::<W, 4>(words, start, count)?;
    check_halves(
        words,
        l[at::INDICATORS_V6 + at::SOURCES] as usize,
        count,
        |source, _| source < sources,
    )
    .map_err(|_| PolicyError::Source)?;

    let (start, count) = list(at::ALLOWED_V4);
    check_ranges::<W, 1>(words, start, count)?;
    check_index(
        words,
        start,
        count,
        l[at::ALLOWED_V4 + at::ALLOWED_INDEX] as usize,
    )?;

    let (start, count) = list(at::ALLOWED_V6);
    check_ranges::<W, 4>(words, start, count)?;

    for ports in [at::TCP_PORTS, at::UDP_PORTS] {
        let (start, count) = list(ports);
        check_halves(words, start, count, |port, previous| {
            previous.is_none_or(|previous| port > previous)
        })
        .map_err(|_| PolicyError::Ports)?;
    }
    Ok(())
}

/// The address of `K` words (1: IPv4, 4: IPv6) at `at`, most significant word first.
#[inline(always)]
pub fn address<W: Words + ?Sized, const K: usize>(words: &W, at: usize) -> u128 {
    let mut value = 0u128;
    for i in 0..K {
        value = value << 32 | u128::from(words.word(at + i));
    }
    value
}

/// `count` ranges of `K`-word addresses from `start`: each first <= last, each after the one
/// before.
fn check_ranges<W: Words + ?Sized, const K: usize>(
    words: &W,
    start: usize,
    count: usize,
) -> Result<(), PolicyError> {
    let mut previous_last: Option<u128> = None;
    for range in 0..count {
        let at = start + range * 2 * K;
        let (first, last) = (address::<W, K>(words, at), address::<W, K>(words, at + K));
        if first > last || previous_last.is_some_and(|previous| first <= previous) {
            return Err(PolicyError::Ranges);
        }
        previous_last = Some(last);
    }
    Ok(())
}

/// `count` 16-bit halves from word `start` each pass `good(value, previous)`, and the unused
/// half of an odd count is 0.
fn check_halves<W: Words + ?Sized>(
    words: &W,
    start: usize,
    count: usize,
    good: impl Fn(u32, Option<u32>) -> bool,
) -> Result<(), ()> {
    let mut previous = None;
    for index in 0..count {
        let value = half(words, start, index);
        if !good(value, previous) {
            return Err(());
        }
        previous = Some(value);
    }
    if count % 2 == 1 && half(words, start, count) != 0 {
        return Err(());
    }
    Ok(())
}

/// The index at `index` (0: none) is the one the `count` IPv4 ranges at `start` give.
fn check_index<W: Words + ?Sized>(
    words: &W,
    start: usize,
    count: usize,
    index: usize,
) -> Result<(), PolicyError> {
    if index == 0 {
        return Ok(());
    }
    let mut below = 0usize;
    for entry in 0..INDEX_ENTRIES {
        let bound = (entry as u64) << 24;
        while below < count && u64::from(words.word(start + below * RANGE_V4_WORDS)) < bound {
            below += 1;
        }
        if half(words, index, entry) as usize != below {
            return Err(PolicyError::Index);
        }
    }
    if half(words, index, INDEX_ENTRIES) != 0 {
        return Err(PolicyError::Index);
    }
    Ok(())
}
