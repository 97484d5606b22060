//! Inventory, findings and audit messages (`docs/wire-format.md` 3.6 to 3.8), each event in
//! messages of its own.

use super::compose::{header, EVENT_AUDIT, EVENT_FINDINGS, EVENT_INVENTORY};
use super::list::{ListPlan, Listed};
use super::sink::{measure, write_into, Sink};
use super::{EncodeError, MAX_MESSAGE_BYTES, MIN_MESSAGE_BYTES};
use crate::hygiene::audit::AuditRecord;
use crate::hygiene::findings::{Finding, Findings, Subject};
use crate::hygiene::inventory::{Socket, SocketKind};

/// One planned audit message: the first `count` of some records.
pub type AuditPlan<'a> = ListPlan<'a, AuditRecord>;

impl Listed for AuditRecord {
    const EVENT: u32 = EVENT_AUDIT;

    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.varint(self.sequence)?;
        sink.varint(self.time)?;
        sink.byte(self.category)?;
        sink.varint(u32::from(self.kind))?;
        sink.varint(u32::from(self.result))?;
        sink.varint(self.subject)?;
        sink.varint(self.old)?;
        sink.varint(self.new)
    }
}

/// One planned part of an inventory: the sockets from `first` on that fit.
#[derive(Debug)]
pub struct InventoryPlan<'a> {
    sockets: &'a [Socket],
    found: u32,
    part: u16,
    /// Sockets in this part.
    count: usize,
    sequence: u32,
    time: u32,
    len: usize,
}

impl<'a> InventoryPlan<'a> {
    /// Part `part` of the inventory `sockets` (of which `found` were found), starting at
    /// its first socket not yet sent, numbered `sequence` at `time`, as long as fits in
    /// `max_len` (one socket at least: the longest is far below the smallest maximum).
    pub fn new(
        sockets: &'a [Socket],
        found: u32,
        part: u16,
        max_len: usize,
        sequence: u32,
        time: u32,
    ) -> Self {
        let max_len = max_len.clamp(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES);
        let mut plan = Self {
            sockets,
            found,
            part,
            count: sockets.len().min(1),
            sequence,
            time,
            len: 0,
        };
        plan.len = plan.measure();
        while plan.count < sockets.len() {
            let wider = Self {
                count: plan.count + 1,
                ..plan
            };
            let len = wider.measure();
            if len > max_len {
                break;
            }
            plan = Self { len, ..wider };
        }
        plan
    }

    /// Sockets this part carries.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether another part follows.
    pub fn more(&self) -> bool {
        self.count < self.sockets.len()
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
        write_into(out, |writer| self.emit(writer))
    }

    fn measure(&self) -> usize {
        measure(|counter| self.emit(counter))
    }

    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        header(sink, self.sequence, self.time, 1)?;
        sink.varint(EVENT_INVENTORY)?;
        sink.varint(self.found)?;
        sink.varint(u32::from(self.part))?;
        sink.byte(u8::from(self.more()))?;
        let part = self.sockets.get(..self.count).unwrap_or_default();
        sink.varint(part.len() as u32)?;
        for socket in part {
            emit_socket(sink, socket)?;
        }
        Ok(())
    }
}

/// One socket: its kind as the variant, the IP instance, then the port or the connection.
fn emit_socket<S: Sink>(sink: &mut S, socket: &Socket) -> Result<(), EncodeError> {
    sink.varint(u32::from(socket.kind))?;
    sink.byte(socket.ip_index)?;
    if socket.kind() != Some(SocketKind::TcpEstablished) {
        return sink.octets(&socket.local_port.to_be_bytes());
    }
    let width = if socket.ip_version == 6 { 16 } else { 4 };
    sink.varint(u32::from(socket.ip_version == 6))?;
    sink.octets(socket.local_address.get(..width).unwrap_or_default())?;
    sink.octets(&socket.local_port.to_be_bytes())?;
    sink.octets(socket.remote_address.get(..width).unwrap_or_default())?;
    sink.octets(&socket.remote_port.to_be_bytes())
}

/// The message of every finding waiting (they always fit in one: at most 20 of at most 10
/// bytes each).
#[derive(Debug)]
pub struct FindingsMessage<'a> {
    findings: &'a Findings,
    sequence: u32,
    time: u32,
}

impl<'a> FindingsMessage<'a> {
    /// The waiting findings of `findings`, numbered `sequence` at `time`.
    pub fn new(findings: &'a Findings, sequence: u32, time: u32) -> Self {
        Self {
            findings,
            sequence,
            time,
        }
    }

    /// Exact length in bytes.
    #[allow(clippy::len_without_is_empty)] // never empty
    pub fn len(&self) -> usize {
        measure(|counter| self.emit(counter))
    }

    /// Writes the message into `out`, returning the bytes written.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EncodeError> {
        write_into(out, |writer| self.emit(writer))
    }

    fn emit<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        let mut count = 0u32;
        self.findings.for_each_waiting(&mut |_| count += 1);
        header(sink, self.sequence, self.time, 1)?;
        sink.varint(EVENT_FINDINGS)?;
        sink.varint(count)?;
        let mut result = Ok(());
        self.findings.for_each_waiting(&mut |finding| {
            if result.is_ok() {
                result = emit_finding(sink, &finding);
            }
        });
        result
    }
}

/// One finding: the condition as the variant, started or ended, when, then its details.
fn emit_finding<S: Sink>(sink: &mut S, finding: &Finding) -> Result<(), EncodeError> {
    let variant = match finding.subject {
        Subject::Service(_) => 0,
        Subject::BlindSpot(spot, _) => spot as u32,
    };
    sink.varint(variant)?;
    sink.byte(u8::from(finding.active))?;
    sink.varint(finding.time)?;
    match finding.subject {
        Subject::Service(service) => {
            sink.byte(service.protocol as u8)?;
            sink.octets(&service.port.to_be_bytes())?;
            sink.varint(service.reason as u32)
        }
        Subject::BlindSpot(_, count) if variant <= 2 => sink.varint(count),
        Subject::BlindSpot(..) => Ok(()),
    }
}
