//! Messages (peek, acknowledge) and the flows of the current window.

use super::types::*;
use super::{checked, code, output, output_slice, MONITOR};
use crate::flows::{Address, Flow};

/// Hands out the oldest waiting message: `*out_bytes` and `*out_length` describe its
/// bytes, `*out_sequence` is the number to acknowledge it with. Only in ACTIVE, and not
/// before the retry delay after a failed send; otherwise `NXSM_ERR_NO_MESSAGE`.
///
/// The message is lent: its bytes stay valid and unchanged until `nxsm_message_ack`,
/// whatever runs meanwhile (polls, collections, settings, `nxsm_stop`, from any context).
/// Acknowledge every message peeked: while one is out, no other message can drop it, so a
/// new message that finds no other room is refused (counted in `messages_dropped`).
#[no_mangle]
pub extern "C" fn nxsm_message_peek(
    out_bytes: *mut *const u8,
    out_length: *mut usize,
    out_sequence: *mut u32,
) -> nxsm_result {
    checked!({
        let out_bytes = output(out_bytes)?;
        let out_length = output(out_length)?;
        let out_sequence = output(out_sequence)?;
        Ok(MONITOR.peek(|sequence, bytes| {
            *out_bytes = bytes.as_ptr();
            *out_length = bytes.len();
            *out_sequence = sequence;
        })?)
    })
}

/// Reports what became of message `sequence` (the oldest, from `nxsm_message_peek`):
/// `sent` removes it (`messages_sent`); otherwise it stays, `messages_failed` is counted
/// and it is handed out again after `retry_interval_s`. Any other sequence number gets
/// `NXSM_ERR_INVALID_ARGUMENT` (the message may have been dropped meanwhile).
#[no_mangle]
pub extern "C" fn nxsm_message_ack(sequence: u32, sent: bool) -> nxsm_result {
    code(MONITOR.ack(sequence, sent).map_err(Into::into))
}

/// Copies flows `first..` of the current window (IPv4 flows, then IPv6 flows) into `out`,
/// at most `capacity` of them, and writes how many to `written` (0 past the end).
#[no_mangle]
pub extern "C" fn nxsm_read_flows(
    first: usize,
    out: *mut nxsm_flow,
    capacity: usize,
    written: *mut usize,
) -> nxsm_result {
    checked!({
        let written = output(written)?;
        *written = 0;
        if capacity == 0 {
            return Ok(());
        }
        let out = output_slice(out, capacity)?;
        *written = MONITOR.snapshot(|module, _| {
            let flows = module.flows();
            let v4 = flows.v4.flows().iter().map(|f| flow_out(4, f));
            let v6 = flows.v6.flows().iter().map(|f| flow_out(6, f));
            let mut count = 0;
            for (slot, flow) in out.iter_mut().zip(v4.chain(v6).skip(first)) {
                *slot = flow;
                count += 1;
            }
            count
        })?;
        Ok(())
    })
}

fn flow_out<A: Address>(ip_version: u8, flow: &Flow<A>) -> nxsm_flow {
    let mut local_address = [0u8; 16];
    let mut remote_address = [0u8; 16];
    let local = flow.local.octets();
    let remote = flow.remote.octets();
    for (to, from) in local_address.iter_mut().zip(local) {
        *to = *from;
    }
    for (to, from) in remote_address.iter_mut().zip(remote) {
        *to = *from;
    }
    nxsm_flow {
        ip_version,
        protocol: flow.protocol as u8,
        tcp_flags_in: flow.flags_in.0,
        tcp_flags_out: flow.flags_out.0,
        local_address,
        remote_address,
        local_port: flow.local_port,
        remote_port: flow.remote_port,
        bytes_in: flow.inbound.bytes,
        bytes_out: flow.outbound.bytes,
        packets_in: flow.inbound.packets,
        packets_out: flow.outbound.packets,
        first_seen_s: flow.first_seen,
        last_seen_s: flow.last_seen,
    }
}
