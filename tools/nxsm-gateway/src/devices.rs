//! Per-device state: sequence tracking (gaps, duplicates, restarts) and the last heartbeat.
//!
//! A device numbers its messages from 0 at boot, +1 each, wrapping at 2^32 (wire format
//! section 2). The broker delivers QoS 1 messages at least once, so after a reconnect a
//! message can arrive again: an exact copy (same sequence number, same bytes) of one of the
//! last [`RECENT`] messages is a duplicate and is dropped. A sequence number past the next
//! expected one counts the numbers skipped as a gap (messages the device dropped or the
//! broker never delivered). A number below the highest seen that is not a copy is either a
//! late arrival (its time is older than the newest message's: it fills one number of a gap
//! counted earlier) or a restart of the device (numbering from 0 again, newer time).

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use nxsm_decode::Heartbeat;

/// How many recent messages per device are remembered for duplicate detection.
pub const RECENT: usize = 256;
/// Longest device id accepted (bytes of the topic level).
pub const MAX_DEVICE_ID: usize = 128;

/// What tracking said about one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The next message, or the first of the device.
    InOrder,
    /// Messages were skipped before this one: how many.
    Gap(u32),
    /// A copy of a message already processed: drop it.
    Duplicate,
    /// A message older than the newest one, filling part of an earlier gap.
    Late,
    /// The device started numbering again (it rebooted).
    Restart,
}

/// One device as the gateway knows it.
#[derive(Clone, Debug, Default)]
pub struct Device {
    /// Highest sequence number seen (in wrapping order) and that message's time.
    newest: Option<(u32, u32)>,
    /// (sequence, hash of the bytes) of the last messages.
    recent: VecDeque<(u32, u64)>,
    /// Messages accepted.
    pub messages: u64,
    /// Sequence numbers skipped (device-side drops or messages lost on the way).
    pub gaps: u64,
    /// Copies dropped.
    pub duplicates: u64,
    /// Late arrivals.
    pub late: u64,
    /// Restarts seen.
    pub restarts: u64,
    /// The last heartbeat and the time of its message.
    pub heartbeat: Option<(u32, Heartbeat)>,
}

fn digest(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

impl Device {
    /// Tracks one message: its sequence number, time and bytes.
    pub fn track(&mut self, sequence: u32, time: u32, bytes: &[u8]) -> Verdict {
        let key = (sequence, digest(bytes));
        if self.recent.contains(&key) {
            self.duplicates += 1;
            return Verdict::Duplicate;
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(key);
        self.messages += 1;
        let Some((newest, newest_time)) = self.newest else {
            self.newest = Some((sequence, time));
            return Verdict::InOrder;
        };
        // Distance forward from the newest, in wrapping order; more than half the space
        // forward means the number is behind.
        let ahead = sequence.wrapping_sub(newest);
        if ahead != 0 && ahead < 1 << 31 {
            self.newest = Some((sequence, time));
            let skipped = ahead - 1;
            self.gaps += u64::from(skipped);
            return if skipped == 0 {
                Verdict::InOrder
            } else {
                Verdict::Gap(skipped)
            };
        }
        if time < newest_time {
            self.late += 1;
            self.gaps = self.gaps.saturating_sub(1);
            Verdict::Late
        } else {
            self.restarts += 1;
            self.newest = Some((sequence, time));
            Verdict::Restart
        }
    }
}

/// Every device, bounded in number.
#[derive(Debug)]
pub struct Devices {
    devices: HashMap<String, Device>,
    limit: usize,
    /// Messages from devices beyond the limit (processed without tracking).
    pub untracked: u64,
}

impl Devices {
    /// At most `limit` devices are tracked.
    pub fn new(limit: usize) -> Self {
        Devices {
            devices: HashMap::new(),
            limit,
            untracked: 0,
        }
    }

    /// The device, created if there is room (`None` past the limit, counted).
    pub fn get(&mut self, id: &str) -> Option<&mut Device> {
        if !self.devices.contains_key(id) {
            if self.devices.len() >= self.limit {
                self.untracked += 1;
                return None;
            }
            self.devices.insert(id.to_string(), Device::default());
        }
        self.devices.get_mut(id)
    }

    /// Devices tracked.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// No device yet.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Every device and its state.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Device)> {
        self.devices.iter()
    }
}

/// The device id of a topic `nxsm/<id>/v1`: 1 to [`MAX_DEVICE_ID`] bytes, no `/`, `+`,
/// `#` (MQTT topic levels cannot hold them) and no control characters.
pub fn device_id(topic: &str) -> Option<&str> {
    let id = topic.strip_prefix("nxsm/")?.strip_suffix("/v1")?;
    let valid = !id.is_empty()
        && id.len() <= MAX_DEVICE_ID
        && !id
            .chars()
            .any(|c| c == '/' || c == '+' || c == '#' || c.is_control());
    valid.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_gap_duplicate_late_restart() {
        let mut d = Device::default();
        assert_eq!(d.track(5, 100, b"a"), Verdict::InOrder);
        assert_eq!(d.track(6, 100, b"b"), Verdict::InOrder);
        assert_eq!(d.track(6, 100, b"b"), Verdict::Duplicate);
        assert_eq!(d.track(9, 110, b"c"), Verdict::Gap(2));
        assert_eq!(d.gaps, 2);
        assert_eq!(d.track(8, 105, b"d"), Verdict::Late);
        assert_eq!(d.gaps, 1);
        assert_eq!(d.track(0, 200, b"e"), Verdict::Restart);
        assert_eq!(d.track(1, 200, b"f"), Verdict::InOrder);
        assert_eq!((d.messages, d.duplicates, d.restarts, d.late), (6, 1, 1, 1));
    }

    #[test]
    fn wraps_and_same_number_other_bytes() {
        let mut d = Device::default();
        assert_eq!(d.track(u32::MAX, 1, b"a"), Verdict::InOrder);
        assert_eq!(d.track(0, 1, b"b"), Verdict::InOrder);
        assert_eq!(d.track(2, 1, b"c"), Verdict::Gap(1));
        // Same number, other bytes, same time: a restart, not a copy.
        assert_eq!(d.track(2, 1, b"x"), Verdict::Restart);
    }

    #[test]
    fn recent_is_bounded() {
        let mut d = Device::default();
        for s in 0..10_000u32 {
            d.track(s, s, &s.to_le_bytes());
        }
        assert_eq!(d.recent.len(), RECENT);
        assert_eq!(d.gaps, 0);
    }

    #[test]
    fn device_limit() {
        let mut devices = Devices::new(2);
        assert!(devices.get("a").is_some());
        assert!(devices.get("b").is_some());
        assert!(devices.get("c").is_none());
        assert!(devices.get("a").is_some());
        assert_eq!((devices.len(), devices.untracked), (2, 1));
    }

    #[test]
    fn topics() {
        assert_eq!(device_id("nxsm/dev-1/v1"), Some("dev-1"));
        assert_eq!(device_id("nxsm//v1"), None);
        assert_eq!(device_id("nxsm/a/b/v1"), None);
        assert_eq!(device_id("nxsm/a/v2"), None);
        assert_eq!(device_id("other/a/v1"), None);
        assert_eq!(device_id(&format!("nxsm/{}/v1", "x".repeat(129))), None);
        assert_eq!(device_id("nxsm/a\u{0}b/v1"), None);
    }
}
