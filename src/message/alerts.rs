//! Alert messages: alerts go out in messages of their own, ahead of any collection, as many
//! in one message as fit (`docs/wire-format.md` 3.4).

use super::compose::EVENT_ALERTS;
use super::list::{ListPlan, Listed};
use super::sink::Sink;
use super::EncodeError;
use crate::capture::{Direction, IpVersion};
use crate::detect::{Alert, AlertFlow, Subject};

/// One planned alert message: the first `count` of some alerts.
pub type AlertPlan<'a> = ListPlan<'a, Alert>;

impl Listed for Alert {
    const EVENT: u32 = EVENT_ALERTS;

    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        emit_alert(sink, self)
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
