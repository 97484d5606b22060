//! A monitor driven by any bytes through start, stop, polls (with and without a clock,
//! forwards and back), interval changes, risky-service lists and hand-outs, with an
//! inventory source that writes any bytes into the room it is given and claims any counts:
//! nothing panics, every message handed out is format 3 within the maximum length, its
//! sequence numbers never go back, and the audit counters add up.
#![no_main]

use std::cell::{Cell, RefCell};

use libfuzzer_sys::fuzz_target;
use nx_security_module::testing::config::{capacity, Priority, Settings};
use nx_security_module::testing::hygiene::{Reason, Scan, Service, ServiceProtocol, Socket};
use nx_security_module::testing::module::Module;
use nx_security_module::testing::monitor::{Monitor, Notify};

/// A source whose sockets and counts come from the input.
#[derive(Default)]
struct Source {
    sockets: RefCell<Vec<u8>>,
    scan: Cell<Scan>,
    present: Cell<bool>,
}

impl Notify for Source {
    fn wake(&self) {}

    fn read_sockets(&self, room: &mut [Socket]) -> Option<Scan> {
        if !self.present.get() {
            return None;
        }
        let bytes = self.sockets.borrow();
        for (slot, raw) in room.iter_mut().zip(bytes.chunks_exact(40)) {
            *slot = socket(raw);
        }
        Some(self.scan.get())
    }
}

/// The 40 bytes of one `nxsm_socket` as a socket.
fn socket(raw: &[u8]) -> Socket {
    let word = |at: usize| u16::from_le_bytes([raw[at], raw[at + 1]]);
    let mut socket = Socket {
        kind: raw[0] % 4,
        ip_version: [0, 4, 6, raw[1]][usize::from(raw[1] % 4)],
        ip_index: raw[2],
        reserved: raw[3] & 1,
        local_port: word(4),
        remote_port: word(6),
        ..Socket::EMPTY
    };
    socket.local_address.copy_from_slice(&raw[8..24]);
    socket.remote_address.copy_from_slice(&raw[24..40]);
    socket
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn word(&mut self) -> Option<u32> {
        let bytes = self.0.get(..4)?;
        let value = u32::from_le_bytes(bytes.try_into().ok()?);
        self.0 = &self.0[4..];
        Some(value)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }
}

const T0: u32 = 1_800_000_000;

fuzz_target!(|data: &[u8]| {
    let monitor = Monitor::new(RefCell::new(Module::new()), Source::default());
    let mut input = Input(data);
    let mut now = T0;
    let mut last_sequence: Option<u32> = None;
    while let Some(op) = input.byte() {
        match op % 8 {
            0 => {
                let _ = monitor.start(&Settings::DEFAULT, now, input.word().unwrap_or(0));
            }
            1 => {
                let _ = monitor.stop();
            }
            2 => {
                // Mostly forwards, sometimes back, sometimes no clock.
                let step = input.byte().unwrap_or(1);
                let clock = match step {
                    250..=255 => None,
                    240..=249 => {
                        now = now.wrapping_sub(u32::from(step) * 100);
                        Some(now)
                    }
                    _ => {
                        now = now.wrapping_add(u32::from(step));
                        Some(now)
                    }
                };
                let _ = monitor.poll(clock, input.byte().unwrap_or(1) & 1 == 1);
            }
            3 => {
                let count = usize::from(input.byte().unwrap_or(0) % 24);
                let raw = input.bytes(count * 40).to_vec();
                let scan = Scan {
                    found: input.word().unwrap_or(0),
                    ips_skipped: u32::from(input.byte().unwrap_or(0) % 3 == 0),
                    ips_unhooked: u32::from(input.byte().unwrap_or(0) % 4),
                    hooks_replaced: u32::from(input.byte().unwrap_or(0) % 4),
                };
                let _ = monitor.with_notify(|source| {
                    *source.sockets.borrow_mut() = raw;
                    source.present.set(true);
                    source.scan.set(scan);
                });
            }
            4 => {
                let count = usize::from(input.byte().unwrap_or(0) % 20);
                let list: Vec<Service> = input
                    .bytes(count * 4)
                    .chunks_exact(4)
                    .filter_map(|raw| {
                        Some(Service::new(
                            ServiceProtocol::from_raw(raw[0] % 2)?,
                            u16::from_le_bytes([raw[1], raw[2]]).max(1),
                            Reason::from_raw(raw[3] % 8)?,
                        ))
                    })
                    .collect();
                let list = (!list.is_empty()).then_some(&list[..list.len().min(16)]);
                let _ = monitor.set_services(list);
            }
            5 => {
                let group = input.byte().unwrap_or(0) % 3;
                let seconds = input.word().unwrap_or(0) % 100_000;
                if let Some(priority) = Priority::from_raw(u32::from(group)) {
                    let _ = monitor.set_interval(priority, seconds);
                }
            }
            _ => {
                let sent = input.byte().unwrap_or(0) & 1 == 1;
                if let Ok((sequence, len, format)) = monitor.peek(|s, b| (s, b.len(), b[0])) {
                    assert_eq!(format, 3);
                    assert!(len <= capacity::MAX_MESSAGE_BYTES);
                    if let Some(last) = last_sequence {
                        assert!(
                            sequence.wrapping_sub(last) < 1 << 31,
                            "{last} then {sequence}"
                        );
                    }
                    last_sequence = Some(sequence);
                    let _ = monitor.ack(sequence, sent);
                }
            }
        }
    }
    let audit = monitor
        .snapshot(|module, _| module.audit_counters())
        .expect("no one else holds the module");
    assert!(audit.lost <= audit.records);
});
