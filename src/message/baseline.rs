//! The baseline message: what learn mode recorded (`docs/wire-format.md` 3.5), in a message
//! of its own.

use super::compose::{header, EVENT_BASELINE};
use super::sink::{measure, write_into, Sink};
use super::EncodeError;
use crate::detect::baseline::BaselineReport;

/// One baseline message.
#[derive(Debug)]
pub struct BaselineMessage<'a> {
    report: BaselineReport<'a>,
    sequence: u32,
    time: u32,
}

impl<'a> BaselineMessage<'a> {
    /// The message numbered `sequence` at `time` reporting `report`.
    pub fn new(report: BaselineReport<'a>, sequence: u32, time: u32) -> Self {
        Self {
            report,
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
        let report = &self.report;
        let learned = report.learned;
        header(sink, self.sequence, self.time, 1)?;
        sink.varint(EVENT_BASELINE)?;
        sink.varint(learned.started)?;
        sink.varint(learned.duration_s)?;
        sink.byte(u8::from(report.applied))?;
        sink.varint(report.policy)?;
        sink.varint(learned.overflow)?;
        sink.varint(learned.v4.len() as u32)?;
        for prefix in &learned.v4 {
            let [_, a, b, c] = prefix.to_be_bytes();
            sink.octets(&[a, b, c])?;
        }
        sink.varint(learned.v6.len() as u32)?;
        for prefix in &learned.v6 {
            sink.octets(&prefix.to_be_bytes())?;
        }
        for ports in [&learned.tcp, &learned.udp] {
            sink.varint(ports.len() as u32)?;
            for port in ports {
                sink.octets(&port.to_be_bytes())?;
            }
        }
        Ok(())
    }
}
