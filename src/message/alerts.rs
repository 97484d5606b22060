//! Alert messages: alerts go out in messages of their own, ahead of any collection, as many
//! in one message as fit (`docs/wire-format.md` 3.4).

use super::compose::{header, EVENT_ALERTS};
use super::sink::{Counter, Sink, Writer};
use super::{EncodeError, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES};
use crate::capture::{Direction, IpVersion};
use crate::detect::{Alert, AlertFlow, Subject};

/// One planned alert message: the first `count` of some alerts.
#[derive(Debug)]
pub struct AlertPlan<'a> {
    alerts: &'a [Alert],
    sequence: u32,
    time: u32,
    len: usize,
}

impl<'a> AlertPlan<'a> {
    /// The message numbered `sequence` at `time` carrying as many of `alerts` (at least one,
    /// whatever its size: an alert is far below the smallest maximum) as fit in `max_len`;
    /// `None` when there is no alert.
    pub fn new(alerts: &'a [Alert], max_len: usize, sequence: u32, time: u32) -> Option<Self> {
        let max_len = max_len.clamp(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
        let mut plan = Self {
            alerts: alerts.get(..1)?,
            sequence,
            time,
            len: 0,
        };
        plan.len = plan.measure();
        for count in 2..=alerts.len() {
            let wider = Self {
                alerts: alerts.get(..count)?,
                ..plan
            };
            let len = wider.measure();
            if len > max_len {
                break;
            }
            plan = Self { len, ..wider };
        }
        Some(plan)
    }

    /// Alerts it carries.
    pub fn count(&self) -> usize {
        self.alerts.len()
    }

    /// Exact length in bytes.
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        self.len
    }

    /// Its sequence number.
    pub fn sequence(&self) -> u32 {
        self.sequence
    }

    /// Writes the message into `out`, returning the bytes written.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        let out = out.get_mut(..self.len).ok_or(EncodeError::BufferTooSmall)?;
        let mut writer = Writer::new(out);
        self.emit(&mut writer)?;
        Ok(writer.written())
    }

    fn measure(&self) -> usize {
        let mut counter = Counter::default();
        let _ = self.emit(&mut counter);
        counter.0
    }

    /// The header, one alerts event, then each alert.
    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        header(sink, self.sequence, self.time, 1)?;
        sink.varint(EVENT_ALERTS)?;
        sink.varint(self.alerts.len() as u32)?;
        for alert in self.alerts {
            emit_alert(sink, alert)?;
        }
        Ok(())
    }
}

/// One alert: kind, time, policy, rule, then the flow or the connection count.
fn emit_alert<S: Sink>(sink: &mut S, alert: &Alert) -> Result<(), EncodeError> {
    sink.varint(alert.kind as u32)?;
    sink.varint(alert.time)?;
    sink.varint(alert.policy)?;
    sink.varint(alert.rule)?;
    match &alert.subject {
        Subject::Flow(flow) => emit_flow(sink, flow),
        Subject::Connections { active, min, max } => {
            sink.varint(*active)?;
            sink.varint(*min)?;
            sink.varint(*max)
        }
    }
}

/// An alert's flow: the IP version as a variant (0 IPv4, 1 IPv6), then the key with
/// addresses of that width, the protocol and who opened it.
fn emit_flow<S: Sink>(sink: &mut S, flow: &AlertFlow) -> Result<(), EncodeError> {
    let width = match flow.version {
        IpVersion::V4 => 4,
        IpVersion::V6 => 16,
    };
    sink.varint(u32::from(flow.version == IpVersion::V6))?;
    sink.octets(flow.local.get(..width).unwrap_or_default())?;
    sink.octets(&flow.local_port.to_be_bytes())?;
    sink.octets(flow.remote.get(..width).unwrap_or_default())?;
    sink.octets(&flow.remote_port.to_be_bytes())?;
    sink.byte(flow.protocol as u8)?;
    sink.byte(match flow.initiator {
        Direction::Out => 0,
        Direction::In => 1,
    })
}
