//! Figures that are counted rather than timed: bytes on the wire (from the core's own
//! message writer) and whether known flows keep counting when the flow table is full.

use nx_security_module::testing::message::{Collection, Composer, Window};
use nx_security_module::testing::message::{Direction, DirectionCounters, Flow, Key};
use nx_security_module::testing::wire::{TcpFlags, TransportKind};

use crate::abi::{self, NXSM_HEADER_NETWORK_ORDER, NXSM_OK};
use crate::packets::{Family, Packets};
use crate::{reset, Calls, T0};

fn flow<A: Copy>(local: A, remote: A, port: u16, counts: [u32; 4]) -> Flow<A> {
    Flow {
        inbound: DirectionCounters {
            bytes: counts[0],
            packets: counts[1],
        },
        outbound: DirectionCounters {
            bytes: counts[2],
            packets: counts[3],
        },
        flags_in: TcpFlags(0x12),
        flags_out: TcpFlags(0x02),
        last_seen: T0,
        ..Flow::new(
            Key {
                local,
                remote,
                local_port: port,
                remote_port: 443,
                protocol: TransportKind::Tcp,
            },
            T0,
            Direction::Out,
        )
    }
}

/// Bytes of the one message a window of `v4` and `v6` flows makes, with the widest
/// sequence number (the worst case of the fixed part).
fn message_len(v4: &[Flow<[u8; 4]>], v6: &[Flow<[u8; 16]>]) -> usize {
    let collection = Collection {
        time: T0,
        network: Some(Window {
            duration_s: 10,
            v4,
            v6,
        }),
        system: None,
        heartbeat: None,
    };
    let mut composer = Composer::new(&collection, 4096, u32::MAX);
    let plan = composer.next_message().expect("one message");
    assert!(composer.next_message().is_none(), "fits one message");
    let mut bytes = vec![0u8; plan.len()];
    plan.write(&mut bytes).expect("written")
}

/// `(name, bytes)`: per IPv4 and IPv6 record with small counters (below 128) and with
/// 16 KB / 127 packets each way, and the fixed part of a message (one IPv4 window with
/// one local address), each as the difference of two real messages.
pub fn wire() -> Vec<(&'static str, usize)> {
    let v4_local = [192, 0, 2, 10];
    let v6_local = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let v4 = |i: u8, counts| flow(v4_local, [198, 51, 100, i], 50_000 + u16::from(i), counts);
    let v6 = |i: u8, counts| {
        let mut remote = v6_local;
        remote[15] = i;
        flow(v6_local, remote, 50_000 + u16::from(i), counts)
    };
    let small = [100, 3, 120, 4];
    let big = [16_000, 127, 16_000, 127];
    let per_record = |build: &dyn Fn(u8) -> usize| build(3) - build(2);
    let v4_small =
        per_record(&|n| message_len(&(1..=n).map(|i| v4(i, small)).collect::<Vec<_>>(), &[]));
    let v4_big =
        per_record(&|n| message_len(&(1..=n).map(|i| v4(i, big)).collect::<Vec<_>>(), &[]));
    let v6_small =
        per_record(&|n| message_len(&[], &(1..=n).map(|i| v6(i, small)).collect::<Vec<_>>()));
    let v6_big =
        per_record(&|n| message_len(&[], &(1..=n).map(|i| v6(i, big)).collect::<Vec<_>>()));
    let overhead = message_len(&[v4(1, small)], &[]) - v4_small;
    vec![
        ("ipv4_small", v4_small),
        ("ipv4_16k", v4_big),
        ("ipv6_small", v6_small),
        ("ipv6_16k", v6_big),
        ("overhead", overhead),
    ]
}

/// Fills the IPv4 table with its 64 flows, then sends 10 more packets of each known flow
/// and one packet of each of 100 new flows: every packet of a known flow must be counted,
/// every new flow counted as table-full. Returns a description of the first mismatch.
pub fn full_table() -> Result<String, String> {
    reset(abi::NXSM_COLLECTOR_BIT_NETWORK_ACTIVITY);
    let calls = Calls::library();
    let flows = 64;
    let known = Packets::tcp(
        Family::V4,
        abi::NXSM_DIRECTION_OUT,
        NXSM_HEADER_NETWORK_ORDER,
        flows,
    );
    let fresh = Packets::tcp(
        Family::V4,
        abi::NXSM_DIRECTION_OUT,
        NXSM_HEADER_NETWORK_ORDER,
        flows + 100,
    );
    let send = |packets: &Packets, range: std::ops::Range<usize>| {
        for index in range {
            let packet = packets.get(index % packets.len());
            // SAFETY: `packet` is a live slice for the duration of the call.
            let code = unsafe {
                calls.capture(
                    packet.as_ptr(),
                    packet.len(),
                    packets.direction(),
                    packets.order(),
                )
            };
            if code != NXSM_OK {
                return Err(format!("nxsm_capture returned {code}"));
            }
            if index % 16 == 15 && calls.drain(T0) != NXSM_OK {
                return Err("nxsm_drain failed".into());
            }
        }
        if calls.drain(T0) != NXSM_OK {
            return Err("nxsm_drain failed".into());
        }
        Ok(())
    };
    send(&known, 0..flows)?;
    let before = abi::stats();
    if before.flows_v4 as usize != flows {
        return Err(format!(
            "{} IPv4 flows after filling, expected {flows}",
            before.flows_v4
        ));
    }
    send(&known, 0..flows * 10)?;
    send(&fresh, flows..flows + 100)?;
    let after = abi::stats();
    let counted = after.packets_counted - before.packets_counted;
    let dropped = after.table_full_dropped - before.table_full_dropped;
    if counted as usize != flows * 10 || dropped != 100 {
        return Err(format!(
            "known-flow packets counted {counted} of {}, new flows dropped {dropped} of 100",
            flows * 10
        ));
    }
    Ok(format!("{counted} of {counted} packets of known flows counted, 100 new flows counted as table-full"))
}
