//! The encoder against the RFC 7011 layout, read back field by field.

use super::*;
use nxsm_decode::{kind_byte, FlagSet, FlowV4, FlowV6};

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
}
fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
}

fn tcp_flow() -> FlowV4 {
    FlowV4 {
        local: 0,
        remote: [20, 1, 2, 3],
        local_port: 50000,
        remote_port: 8883,
        kind: kind_byte(
            Protocol::Tcp,
            FlagSet::SYN.union(FlagSet::RST),
            FlagSet::SYN.union(FlagSet::FIN),
        ),
        initiator: INITIATOR_LOCAL,
        bytes_in: 1000,
        bytes_out: 2000,
        packets_in: 4,
        packets_out: 5,
    }
}

#[test]
fn record_sizes_match_templates() {
    assert_eq!(record_size(TEMPLATE_V4), RECORD_V4);
    assert_eq!(record_size(TEMPLATE_V6), RECORD_V6);
    assert_eq!(record_size(TEMPLATE_BIFLOW_V4), RECORD_BIFLOW_V4);
    assert_eq!(record_size(TEMPLATE_BIFLOW_V6), RECORD_BIFLOW_V6);
    assert_eq!(record_size(1), 0);
}

#[test]
fn template_set_layout() {
    let e = Encoder::new(7, DEFAULT_MESSAGE);
    let m = e.templates(&[TEMPLATE_V4, TEMPLATE_BIFLOW_V6, 999], 1_700_000_000);
    // Message header: version, length, export time, sequence, observation domain.
    assert_eq!(be16(&m, 0), 10);
    assert_eq!(usize::from(be16(&m, 2)), m.len());
    assert_eq!(be32(&m, 4), 1_700_000_000);
    assert_eq!(be32(&m, 8), 0);
    assert_eq!(be32(&m, 12), 7);
    // One template set (ID 2) filling the rest.
    assert_eq!(be16(&m, 16), 2);
    assert_eq!(usize::from(be16(&m, 18)), m.len() - 16);
    // Template 256: 11 IANA fields of 4 bytes each.
    let mut at = 20;
    assert_eq!((be16(&m, at), be16(&m, at + 2)), (256, 11));
    at += 4;
    let expected: [(u16, u16); 11] = [
        (8, 4),
        (12, 4),
        (7, 2),
        (11, 2),
        (4, 1),
        (6, 2),
        (239, 1),
        (1, 8),
        (2, 8),
        (150, 4),
        (151, 4),
    ];
    for (id, len) in expected {
        assert_eq!((be16(&m, at), be16(&m, at + 2)), (id, len));
        at += 4;
    }
    // Template 259: the IPv6 fields, then three reverse elements with the enterprise bit
    // and PEN 29305.
    assert_eq!((be16(&m, at), be16(&m, at + 2)), (259, 14));
    at += 4;
    assert_eq!((be16(&m, at), be16(&m, at + 2)), (27, 16));
    at += 11 * 4;
    for (id, len) in [(1u16, 8u16), (2, 8), (6, 2)] {
        assert_eq!(be16(&m, at), 0x8000 | id);
        assert_eq!(be16(&m, at + 2), len);
        assert_eq!(be32(&m, at + 4), REVERSE_PEN);
        at += 8;
    }
    // The unknown template was left out.
    assert_eq!(at, m.len());
    // The template messages the exporter sends (docs/fleet.md gives these sizes).
    assert_eq!(e.templates(&[TEMPLATE_V4, TEMPLATE_V6], 0).len(), 116);
    assert_eq!(
        e.templates(&[TEMPLATE_BIFLOW_V4, TEMPLATE_BIFLOW_V6], 0)
            .len(),
        164
    );
}

#[test]
fn uniflow_records_and_data_set() {
    let records = flow_records([192, 168, 1, 10], &tcp_flow(), 1_700_000_010, 10, false);
    assert_eq!(records.len(), 2);
    let mut e = Encoder::new(1, DEFAULT_MESSAGE);
    let messages = e.data(&records, 1_700_000_020);
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.len(), 16 + 4 + 2 * RECORD_V4);
    assert_eq!(usize::from(be16(m, 2)), m.len());
    assert_eq!(
        be32(m, 8),
        0,
        "sequence counts records sent before this message"
    );
    assert_eq!(be16(m, 16), TEMPLATE_V4);
    assert_eq!(usize::from(be16(m, 18)), 4 + 2 * RECORD_V4);
    // Outbound: local -> remote, sent counters, sent flags, the device opened it.
    let r = &m[20..20 + RECORD_V4];
    assert_eq!(&r[0..4], &[192, 168, 1, 10]);
    assert_eq!(&r[4..8], &[20, 1, 2, 3]);
    assert_eq!((be16(r, 8), be16(r, 10), r[12]), (50000, 8883, 6));
    assert_eq!(be16(r, 13), TCP_SYN | TCP_FIN);
    assert_eq!(r[15], DIRECTION_INITIATOR);
    assert_eq!(be64(r, 16), 2000 + 5 * 20);
    assert_eq!(be64(r, 24), 5);
    assert_eq!((be32(r, 32), be32(r, 36)), (1_700_000_000, 1_700_000_010));
    // Inbound: remote -> local, received counters and flags.
    let r = &m[20 + RECORD_V4..];
    assert_eq!(&r[0..4], &[20, 1, 2, 3]);
    assert_eq!(&r[4..8], &[192, 168, 1, 10]);
    assert_eq!((be16(r, 8), be16(r, 10)), (8883, 50000));
    assert_eq!(be16(r, 13), TCP_SYN | TCP_RST);
    assert_eq!(r[15], DIRECTION_REVERSE_INITIATOR);
    assert_eq!((be64(r, 16), be64(r, 24)), (1000 + 4 * 20, 4));
    // The next message's sequence number counts these two records.
    assert_eq!(e.sequence(), 2);
}

#[test]
fn silent_direction_skipped_and_icmpv6() {
    let flow = FlowV6 {
        local: 0,
        remote: [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
        local_port: 0,
        remote_port: 0,
        kind: kind_byte(Protocol::Icmp, FlagSet::EMPTY, FlagSet::EMPTY),
        initiator: INITIATOR_REMOTE,
        bytes_in: 64,
        bytes_out: 0,
        packets_in: 1,
        packets_out: 0,
    };
    let local = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let records = flow_records(local, &flow, 100, 10, false);
    assert_eq!(records.len(), 1);
    let r = records[0];
    assert_eq!(r.addresses, Addresses::V6(flow.remote, local));
    assert_eq!(
        (r.protocol, r.octets, r.packets, r.direction),
        (58, 64 + 40, 1, DIRECTION_INITIATOR)
    );
    let messages = Encoder::new(1, DEFAULT_MESSAGE).data(&records, 0);
    assert_eq!(messages[0].len(), 16 + 4 + RECORD_V6);
}

#[test]
fn biflow_source_is_the_initiator() {
    let mut flow = tcp_flow();
    flow.initiator = INITIATOR_REMOTE;
    let records = flow_records([192, 168, 1, 10], &flow, 10, 10, true);
    assert_eq!(records.len(), 1);
    let r = records[0];
    assert_eq!(r.addresses, Addresses::V4([20, 1, 2, 3], [192, 168, 1, 10]));
    assert_eq!((r.source_port, r.destination_port), (8883, 50000));
    assert_eq!(
        (r.octets, r.packets, r.direction),
        (1080, 4, DIRECTION_INITIATOR)
    );
    assert_eq!(
        r.reverse,
        Some(Reverse {
            octets: 2100,
            packets: 5,
            tcp_flags: TCP_SYN | TCP_FIN
        })
    );
    let m = &Encoder::new(1, DEFAULT_MESSAGE).data(&records, 0)[0];
    assert_eq!(m.len(), 16 + 4 + RECORD_BIFLOW_V4);
    assert_eq!(be16(m, 16), TEMPLATE_BIFLOW_V4);
    let r = &m[20..];
    assert_eq!(
        (be64(r, 40), be64(r, 48), be16(r, 56)),
        (2100, 5, TCP_SYN | TCP_FIN)
    );
}

#[test]
fn hostile_counters_and_times() {
    let mut flow = tcp_flow();
    flow.bytes_out = u32::MAX;
    flow.packets_out = u32::MAX;
    flow.packets_in = 0;
    // A window longer than the time since 1970: the start stays at 0.
    let records = flow_records([1, 2, 3, 4], &flow, 5, u32::MAX, false);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].octets, u64::from(u32::MAX) * 21);
    assert_eq!((records[0].start, records[0].end), (0, 5));
    // Invalid protocol or initiator (never in a validated message): no record, no panic.
    flow.kind = 3;
    assert!(flow_records([1, 2, 3, 4], &flow, 5, 1, false).is_empty());
    let mut flow = tcp_flow();
    flow.initiator = 7;
    assert!(flow_records([1, 2, 3, 4], &flow, 5, 1, true).is_empty());
    // Nothing either way: no biflow record.
    let mut flow = tcp_flow();
    flow.packets_in = 0;
    flow.packets_out = 0;
    assert!(flow_records([1, 2, 3, 4], &flow, 5, 1, true).is_empty());
}

#[test]
fn messages_split_at_the_bound_and_sets_group_by_template() {
    let v4 = flow_records([10, 0, 0, 1], &tcp_flow(), 10, 10, false);
    let mut v6flow = FlowV6 {
        local: 0,
        remote: [1; 16],
        local_port: 1,
        remote_port: 2,
        kind: kind_byte(Protocol::Udp, FlagSet::EMPTY, FlagSet::EMPTY),
        initiator: INITIATOR_LOCAL,
        bytes_in: 0,
        bytes_out: 10,
        packets_in: 0,
        packets_out: 1,
    };
    let mut records = Vec::new();
    for i in 0..100u16 {
        records.extend(v4.iter().copied());
        v6flow.local_port = i;
        records.extend(flow_records([2; 16], &v6flow, 10, 10, false));
    }
    assert_eq!(records.len(), 300);
    // The smallest bound is clamped up to hold the largest record.
    assert_eq!(Encoder::new(0, 1).max_message, MIN_MESSAGE);
    let mut e = Encoder::new(0, 512);
    let messages = e.data(&records, 0);
    let mut seen = 0u32;
    let mut v4_seen = 0;
    for m in &messages {
        assert!(m.len() <= 512);
        assert_eq!(usize::from(be16(m, 2)), m.len());
        assert_eq!(be32(m, 8), seen);
        // Walk the sets: their lengths tile the message exactly.
        let mut at = 16;
        while at < m.len() {
            let (id, len) = (be16(m, at), usize::from(be16(m, at + 2)));
            let size = record_size(id);
            assert!(size > 0 && (len - 4) % size == 0, "set {id} length {len}");
            let n = (len - 4) / size;
            if id == TEMPLATE_V4 {
                v4_seen += n;
            }
            seen += n as u32;
            at += len;
        }
        assert_eq!(at, m.len());
    }
    assert_eq!((seen, v4_seen, e.sequence()), (300, 200, 300));
    // No record: no message.
    assert!(e.data(&[], 0).is_empty());
}

#[test]
fn exporter_sends_templates_first_and_on_its_timer() {
    let collector = UdpSocket::bind("127.0.0.1:0").unwrap();
    collector
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let address = collector.local_addr().unwrap();
    let mut exporter = Exporter::new(address, 3, false, Duration::from_secs(3600)).unwrap();
    let records = flow_records([10, 0, 0, 1], &tcp_flow(), 10, 10, false);
    exporter.export(&records, 1);
    exporter.export(&records, 2);
    let mut buf = [0u8; 2048];
    let sets: Vec<u16> = (0..3)
        .map(|_| {
            let n = collector.recv(&mut buf).unwrap();
            assert_eq!(be32(&buf[..n], 12), 3);
            be16(&buf[..n], 16)
        })
        .collect();
    assert_eq!(sets, [TEMPLATE_SET_ID, TEMPLATE_V4, TEMPLATE_V4]);
    let c = exporter.counters();
    assert_eq!(
        (c.messages, c.records, c.template_messages, c.send_errors),
        (3, 4, 1, 0)
    );
    // With a zero interval every export re-sends them.
    exporter.template_interval = Duration::ZERO;
    exporter.export(&records, 3);
    let n = collector.recv(&mut buf).unwrap();
    assert_eq!(be16(&buf[..n], 16), TEMPLATE_SET_ID);
}
