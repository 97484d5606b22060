use super::*;
use crate::capture::Direction;
use crate::flows::{DirectionCounters, Flow, Key};
use crate::wire::{TcpFlags, TransportKind};

const TIME: u32 = 1_700_000_000;

fn v4(local: [u8; 4], remote: [u8; 4], ports: (u16, u16), counts: [u32; 4]) -> Flow<[u8; 4]> {
    Flow {
        inbound: DirectionCounters {
            bytes: counts[0],
            packets: counts[2],
        },
        outbound: DirectionCounters {
            bytes: counts[1],
            packets: counts[3],
        },
        flags_in: TcpFlags(0),
        flags_out: TcpFlags(0),
        last_seen: TIME - 1,
        ..Flow::new(
            Key {
                local,
                remote,
                local_port: ports.0,
                remote_port: ports.1,
                protocol: TransportKind::Tcp,
            },
            TIME - 5,
            Direction::Out,
        )
    }
}

fn example_v4() -> Flow<[u8; 4]> {
    let mut flow = v4(
        [192, 168, 1, 10],
        [20, 1, 2, 3],
        (50000, 8883),
        [1000, 2000, 4, 5],
    );
    flow.flags_in = TcpFlags(0x12); // SYN+ACK
    flow.flags_out = TcpFlags(0x02); // SYN
    flow
}

fn example_v6() -> Flow<[u8; 16]> {
    let mut local = [0u8; 16];
    local[0] = 0xfe;
    local[1] = 0x80;
    local[15] = 1;
    let mut remote = [0u8; 16];
    remote[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    remote[15] = 2;
    Flow {
        inbound: DirectionCounters::default(),
        outbound: DirectionCounters {
            bytes: 64,
            packets: 1,
        },
        flags_in: TcpFlags(0),
        flags_out: TcpFlags(0),
        last_seen: TIME,
        ..Flow::new(
            Key {
                local,
                remote,
                local_port: 0,
                remote_port: 0,
                protocol: TransportKind::Icmp,
            },
            TIME,
            Direction::Out,
        )
    }
}

fn example_system() -> SystemInformation {
    SystemInformation {
        threadx: [6, 4, 1],
        netx: [6, 4, 1],
        module_version: crate::VERSION,
        max_flows_v4: 64,
        max_flows_v6: 64,
        ring_slots: 64,
        outbox_bytes: 4096,
        max_message_bytes: 1024,
        intervals_s: [10, 30, 60],
        collectors: 7,
        capture_mode: 0,
    }
}

fn example_heartbeat() -> Heartbeat {
    Heartbeat {
        uptime_s: 75,
        packets_seen: 12,
        packets_counted: 10,
        malformed: 1,
        ignored: 1,
        messages_sent: 3,
        outbox_messages: 1,
        outbox_used_bytes: 90,
        outbox_peak_bytes: 200,
        ..Heartbeat::default()
    }
}

fn write_all(
    collection: &Collection<'_>,
    max: usize,
    first_sequence: u32,
) -> std::vec::Vec<std::vec::Vec<u8>> {
    let mut composer = Composer::new(collection, max, first_sequence);
    let mut messages = std::vec::Vec::new();
    while let Some(plan) = composer.next_message() {
        let mut buf = std::vec![0u8; plan.len()];
        let written = plan.write(&mut buf).unwrap();
        assert_eq!(written, plan.len(), "planned length is exact");
        assert!(written <= max.max(MIN_MESSAGE_BYTES));
        messages.push(buf);
    }
    messages
}

/// `count` IPv4 flows over `locals` device addresses, with counters of every varint width.
fn many_v4_flows(count: u32, locals: u32) -> std::vec::Vec<Flow<[u8; 4]>> {
    (0..count)
        .map(|i| {
            let local = [10, 0, (i % locals) as u8, 1];
            let ports = (40_000 + i as u16, 443);
            v4(local, i.to_be_bytes(), ports, [i * 1000, i, i, 1])
        })
        .collect()
}

fn hex(bytes: &[u8]) -> std::string::String {
    bytes.iter().map(|b| std::format!("{b:02x}")).collect()
}

/// Unsigned LEB128 as the format defines it, written out plainly: seven bits per byte,
/// least significant first, the high bit on every byte but the last.
fn leb128(mut value: u64) -> std::vec::Vec<u8> {
    let mut out = std::vec::Vec::new();
    loop {
        let low = (value & 0x7F) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return out;
        }
        out.push(low | 0x80);
    }
}

/// Every width from 0 to 64 bits, at and next to each boundary.
fn boundary_values() -> impl Iterator<Item = u64> {
    (0..=64u32).flat_map(|bits| {
        [
            (1u128 << bits) - 1,
            1u128 << bits.min(63),
            (1u128 << bits.min(63)) + 1,
        ]
        .map(|value| value.min(u128::from(u64::MAX)) as u64)
    })
}

#[test]
fn varints_are_written_and_counted_as_leb128() {
    use super::sink::{Counter, Sink, Writer};
    for value in boundary_values() {
        let want = leb128(value);
        let mut buf = [0u8; 10];
        let mut writer = Writer::new(&mut buf);
        writer.varint64(value).unwrap();
        assert_eq!(&buf[..want.len()], &want[..], "{value}");
        assert_eq!(varint64_len(value), want.len(), "{value}");
        let mut counter = Counter::default();
        counter.varint64(value).unwrap();
        assert_eq!(counter.0, want.len());
        if let Ok(narrow) = u32::try_from(value) {
            let mut buf = [0u8; 5];
            let mut writer = Writer::new(&mut buf);
            writer.varint(narrow).unwrap();
            assert_eq!(writer.written(), want.len(), "{value}");
            assert_eq!(&buf[..want.len()], &want[..], "{value}");
            assert_eq!(varint_len(narrow), want.len(), "{value}");
        }
    }
}

/// MIN_MESSAGE_BYTES holds the first message of a collection with every varint at its
/// widest: header, an IPv6 flow with a new local address, system information and a
/// heartbeat whose 64-bit counters take ten bytes each.
#[test]
fn the_widest_first_message_fits_the_smallest_maximum() {
    let mut flow = example_v6();
    flow.inbound = DirectionCounters {
        bytes: u32::MAX,
        packets: u32::MAX,
    };
    flow.outbound = flow.inbound;
    let system = SystemInformation {
        threadx: [u8::MAX; 3],
        netx: [u8::MAX; 3],
        module_version: u32::MAX,
        max_flows_v4: u16::MAX,
        max_flows_v6: u16::MAX,
        ring_slots: u16::MAX,
        outbox_bytes: u32::MAX,
        max_message_bytes: u32::MAX,
        intervals_s: [u32::MAX; 3],
        collectors: u8::MAX,
        capture_mode: u8::MAX,
    };
    let heartbeat = Heartbeat {
        uptime_s: u32::MAX,
        packets_seen: u64::MAX,
        packets_counted: u64::MAX,
        malformed: u64::MAX,
        ignored: u64::MAX,
        ring_dropped: u64::MAX,
        table_full_dropped: u64::MAX,
        messages_sent: u32::MAX,
        messages_failed: u32::MAX,
        messages_dropped: u32::MAX,
        outbox_messages: u16::MAX,
        outbox_used_bytes: u32::MAX,
        outbox_peak_bytes: u32::MAX,
        clock_unavailable: u32::MAX,
        clock_steps_back: u32::MAX,
        collections_waited: u32::MAX,
        alerts_sent: u32::MAX,
        alerts_suppressed: u32::MAX,
        packets_blocked: u64::MAX,
    };
    let flows = [flow];
    let collection = Collection {
        time: u32::MAX,
        network: Some(Window {
            duration_s: u32::MAX,
            v4: &[],
            v6: &flows,
        }),
        system: Some(&system),
        heartbeat: Some(&heartbeat),
    };
    let messages = write_all(&collection, MIN_MESSAGE_BYTES, u32::MAX);
    assert_eq!(messages.len(), 1, "everything in one message");
    assert!(messages[0].len() <= MIN_MESSAGE_BYTES);
}

#[test]
fn kind_packs_protocol_and_syn_fin_rst() {
    let mut flow = example_v4();
    assert_eq!(compose::kind(&flow), 0b0010_0100);
    flow.flags_in = TcpFlags(0x01 | 0x04); // FIN, RST received
    flow.flags_out = TcpFlags(0xFF);
    assert_eq!(compose::kind(&flow), 0b1111_1000);
    // Flags belong to TCP only: the wire keeps them 0 for UDP and ICMP.
    flow.protocol = TransportKind::Udp;
    assert_eq!(compose::kind(&flow), 0b0000_0001);
}

/// The committed golden message: any change to the format or its writer shows up here and
/// in `tests/golden/network_v4_v6.hex` (see docs/wire-format.md 6). A deliberate change
/// (a new field, a new version) is accepted by running the test with `NXSM_BLESS=1`, which
/// rewrites the file from the writer; the diff then shows what changed.
#[test]
fn golden_bytes() {
    let flows_v4 = [example_v4()];
    let flows_v6 = [example_v6()];
    let system = example_system();
    let heartbeat = example_heartbeat();
    let collection = Collection {
        time: TIME,
        network: Some(Window {
            duration_s: 10,
            v4: &flows_v4,
            v6: &flows_v6,
        }),
        system: Some(&system),
        heartbeat: Some(&heartbeat),
    };
    let messages = write_all(&collection, 1024, 7);
    assert_eq!(messages.len(), 1);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/network_v4_v6.hex"
    );
    let written = hex(&messages[0]);
    if std::env::var_os("NXSM_BLESS").is_some_and(|v| v == "1") {
        let mut file = std::format!(
            "# nx-security-module wire format {FORMAT}: golden message (docs/wire-format.md 6).\n\
             # Written by src/message/tests.rs golden_bytes (NXSM_BLESS=1); {} bytes.\n",
            messages[0].len()
        );
        for line in written.as_bytes().chunks(64) {
            file.push_str(core::str::from_utf8(line).unwrap());
            file.push('\n');
        }
        std::fs::write(path, file).expect("golden file is writable");
        return;
    }
    let golden = std::fs::read_to_string(path).expect("golden file");
    let expected: std::string::String = golden
        .lines()
        .filter(|line| !line.starts_with('#'))
        .flat_map(|line| line.split_whitespace())
        .collect();
    assert_eq!(
        written, expected,
        "the writer no longer gives the golden bytes; if the change is meant, run the test with NXSM_BLESS=1 and commit the file"
    );
}

#[test]
fn record_sizes_are_as_documented() {
    let flow = v4([10, 0, 0, 1], [10, 0, 0, 2], (50000, 443), [127, 127, 3, 3]);
    assert_eq!(compose::record_len(&flow), 15);
    let flow = v4(
        [10, 0, 0, 1],
        [10, 0, 0, 2],
        (50000, 443),
        [16_000, 16_000, 127, 127],
    );
    assert_eq!(compose::record_len(&flow), 17);
    assert_eq!(compose::record_len(&example_v6()), 27);
}

#[test]
fn empty_collection_makes_no_message() {
    let collection = Collection {
        time: TIME,
        network: Some(Window {
            duration_s: 10,
            v4: &[],
            v6: &[],
        }),
        system: None,
        heartbeat: None,
    };
    assert!(write_all(&collection, 1024, 0).is_empty());
}

#[test]
fn large_window_splits_without_losing_a_flow() {
    let flows = many_v4_flows(300, 3);
    let system = example_system();
    let heartbeat = example_heartbeat();
    let collection = Collection {
        time: TIME,
        network: Some(Window {
            duration_s: 10,
            v4: &flows,
            v6: &[],
        }),
        system: Some(&system),
        heartbeat: Some(&heartbeat),
    };
    for max in [MIN_MESSAGE_BYTES, 400, 512, 1024, 4096] {
        let messages = write_all(&collection, max, u32::MAX - 1);
        let mut carried = 0;
        let mut composer = Composer::new(&collection, max, u32::MAX - 1);
        let mut sequences = std::vec::Vec::new();
        while let Some(plan) = composer.next_message() {
            carried += plan.flows();
            sequences.push(plan.sequence());
        }
        assert_eq!(carried, flows.len(), "max {max}");
        assert_eq!(sequences.len(), messages.len());
        assert_eq!(sequences[..2], [u32::MAX - 1, u32::MAX], "sequence wraps");
        for message in &messages {
            assert!(message.len() <= max, "max {max}: {}", message.len());
        }
        // A part that was cut would have left room for at most one more record.
        for message in &messages[..messages.len() - 1] {
            assert!(
                message.len() + 24 > max,
                "max {max}: part of {} left room",
                message.len()
            );
        }
    }
}

#[test]
fn a_ninth_local_address_starts_a_new_part() {
    let flows: std::vec::Vec<_> = (0..20u8)
        .map(|i| v4([10, 0, 0, i], [1, 1, 1, 1], (1000, 53), [1, 1, 1, 1]))
        .collect();
    let collection = Collection {
        time: TIME,
        network: Some(Window {
            duration_s: 10,
            v4: &flows,
            v6: &[],
        }),
        system: None,
        heartbeat: None,
    };
    let mut composer = Composer::new(&collection, 4096, 0);
    let per_part: std::vec::Vec<_> = core::iter::from_fn(|| composer.next_message())
        .map(|plan| plan.flows())
        .collect();
    assert_eq!(per_part, [8, 8, 4]);
}

/// The fixed cost of a message: everything but its flow records, for one window with one
/// IPv4 and one IPv6 local address (the architecture's target is at most 48 bytes).
#[test]
fn fixed_overhead_per_message() {
    let v4_flows = [example_v4()];
    let v6_flows = [example_v6()];
    type Case<'a> = (&'a [Flow<[u8; 4]>], &'a [Flow<[u8; 16]>], usize);
    let cases: [Case<'_>; 2] = [(&v4_flows, &[], 4), (&v4_flows, &v6_flows, 20)];
    for (v4, v6, local_bytes) in cases {
        let collection = Collection {
            time: TIME,
            network: Some(Window {
                duration_s: 10,
                v4,
                v6,
            }),
            system: None,
            heartbeat: None,
        };
        // A sequence number past 2^28 takes the widest varint.
        let messages = write_all(&collection, 1024, u32::MAX);
        let records: usize = v4.iter().map(compose::record_len).sum::<usize>()
            + v6.iter().map(compose::record_len).sum::<usize>();
        let overhead = messages[0].len() - records;
        // format 2, "nxsm" 5, version 3, sequence 5, time 5, event count 1, event tag 1,
        // duration 1, part 1, more 1, four sequence lengths 4, then the local addresses.
        assert_eq!(overhead, 28 + local_bytes);
        assert!(overhead - local_bytes <= 48);
    }
}

/// The length each event says it takes is what is written for it, over varints of every
/// width.
#[test]
fn event_lengths_are_what_is_written() {
    use super::sink::Writer;
    let mut heartbeat = example_heartbeat();
    let mut system = example_system();
    for step in boundary_values() {
        let narrow = step as u32;
        heartbeat.uptime_s = narrow;
        heartbeat.packets_seen = step;
        heartbeat.clock_steps_back = narrow;
        heartbeat.outbox_messages = step as u16;
        system.module_version = narrow;
        system.intervals_s = [narrow, narrow / 2, 1];
        system.max_flows_v6 = step as u16;
        let mut buf = [0u8; 256];
        let mut writer = Writer::new(&mut buf);
        heartbeat.emit(&mut writer).unwrap();
        assert_eq!(heartbeat.encoded_len(), writer.written(), "{step}");
        let mut writer = Writer::new(&mut buf);
        system.emit(&mut writer).unwrap();
        let written = writer.written();
        assert_eq!(system.encoded_len(), written, "{step}");
        // Both version triples first, the one-byte fields last.
        assert_eq!(buf[..6], [system.threadx, system.netx].concat()[..]);
        assert_eq!(
            buf[written - 2..written],
            [system.collectors, system.capture_mode]
        );
    }
}

/// A record is its documented fields in order: local index, remote address, both ports
/// big-endian, kind, initiator (0 the device, 1 the peer), then the four counters as varints.
#[test]
fn records_are_the_documented_fields() {
    for counter in [0, 1, 127, 128, 16_383, 16_384, 1 << 21, 1 << 28, u32::MAX] {
        let mut flow = example_v6();
        if counter % 2 == 1 {
            flow.initiator = Direction::In;
        }
        flow.inbound.packets = counter;
        flow.outbound.bytes = counter.wrapping_mul(3);
        flow.local_port = counter as u16;
        let mut want = std::vec![7u8];
        want.extend_from_slice(&flow.remote);
        want.extend_from_slice(&flow.local_port.to_be_bytes());
        want.extend_from_slice(&flow.remote_port.to_be_bytes());
        want.push(compose::kind(&flow));
        want.push(u8::from(counter % 2 == 1));
        for value in [
            flow.inbound.bytes,
            flow.outbound.bytes,
            flow.inbound.packets,
            flow.outbound.packets,
        ] {
            want.extend(leb128(u64::from(value)));
        }
        let got = compose::encoded_record(&flow, 7).unwrap();
        assert_eq!(got, want, "{counter}");
        assert_eq!(got.len(), compose::record_len(&flow));
    }
}

/// Every planned length is the length written, over sequence numbers, times, parts and
/// local addresses of every varint width.
#[test]
fn planned_lengths_are_written_lengths() {
    let flows = many_v4_flows(300, 11);
    let v6_flows = [example_v6()];
    let system = example_system();
    let heartbeat = example_heartbeat();
    for (sequence, time, duration) in [
        (0, 0, 0),
        (127, 128, 1),
        (16_384, TIME, 86_400),
        (u32::MAX - 3, u32::MAX - 1, u32::MAX),
    ] {
        let collection = Collection {
            time,
            network: Some(Window {
                duration_s: duration,
                v4: &flows,
                v6: &v6_flows,
            }),
            system: Some(&system),
            heartbeat: Some(&heartbeat),
        };
        let mut composer = Composer::new(&collection, 300, sequence);
        let mut messages = 0;
        while let Some(plan) = composer.next_message() {
            let mut out = std::vec![0u8; plan.len() + 8];
            assert_eq!(plan.write(&mut out), Ok(plan.len()), "sequence {sequence}");
            assert_eq!(
                plan.write(&mut out[..plan.len() - 1]),
                Err(EncodeError::BufferTooSmall)
            );
            messages += 1;
        }
        assert!(messages > 20);
    }
}
