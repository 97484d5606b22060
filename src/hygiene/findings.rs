//! Hygiene findings: conditions of the device's set-up that weaken it or blind the monitor,
//! each reported once when it starts and once when it ends.
//!
//! A condition is a bit: one per entry of the risky-service list, then the blind spots. What
//! has been reported is a second set of bits, so the findings waiting to go out are the bits
//! that differ and no queue is needed: a condition that starts and ends between two reports
//! (within one poll) is not reported.

use super::inventory::{Socket, SocketKind};

/// Entries the risky-service list may hold.
pub const MAX_SERVICES: usize = 16;

/// The condition bits of the listed services.
const SERVICE_BITS: u32 = (1 << MAX_SERVICES) - 1;

/// Why a service is risky (the wire's `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Put on the list by the application.
    Listed = 0,
    /// Files in clear text (FTP, TFTP).
    CleartextFileTransfer = 1,
    /// Logins in clear text (Telnet).
    CleartextRemoteLogin = 2,
    /// Web in clear text (HTTP).
    CleartextWeb = 3,
    /// An industrial protocol without authentication (Modbus/TCP).
    UnauthenticatedIndustrial = 4,
    /// MQTT without TLS.
    MqttWithoutTls = 5,
    /// CoAP without DTLS.
    CoapWithoutDtls = 6,
    /// Management in clear text (SNMP).
    CleartextManagement = 7,
}

impl Reason {
    /// The reason numbered `raw`.
    pub fn from_raw(raw: u8) -> Option<Self> {
        Some(match raw {
            0 => Self::Listed,
            1 => Self::CleartextFileTransfer,
            2 => Self::CleartextRemoteLogin,
            3 => Self::CleartextWeb,
            4 => Self::UnauthenticatedIndustrial,
            5 => Self::MqttWithoutTls,
            6 => Self::CoapWithoutDtls,
            7 => Self::CleartextManagement,
            _ => return None,
        })
    }
}

/// Transport of a listed service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceProtocol {
    /// A listening TCP port.
    Tcp = 0,
    /// A bound UDP port.
    Udp = 1,
}

impl ServiceProtocol {
    /// The protocol numbered `raw`.
    pub fn from_raw(raw: u8) -> Option<Self> {
        match raw {
            0 => Some(Self::Tcp),
            1 => Some(Self::Udp),
            _ => None,
        }
    }
}

/// One entry of the risky-service list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    /// TCP or UDP.
    pub protocol: ServiceProtocol,
    /// The port.
    pub port: u16,
    /// Why it is listed.
    pub reason: Reason,
}

impl Service {
    /// An unused place of the list (all zero).
    const NONE: Self = Self::new(ServiceProtocol::Tcp, 0, Reason::Listed);

    /// A list entry.
    pub const fn new(protocol: ServiceProtocol, port: u16, reason: Reason) -> Self {
        Self {
            protocol,
            port,
            reason,
        }
    }

    /// Whether `socket` offers this service.
    fn offered_by(&self, socket: &Socket) -> bool {
        let kind = match self.protocol {
            ServiceProtocol::Tcp => SocketKind::TcpListening,
            ServiceProtocol::Udp => SocketKind::UdpBound,
        };
        socket.kind() == Some(kind) && socket.local_port == self.port
    }
}

/// The list in force until the application sets one: clear-text or unauthenticated
/// services commonly left open on devices.
pub const DEFAULT_SERVICES: [Service; 8] = {
    use Reason::*;
    use ServiceProtocol::*;
    [
        Service::new(Tcp, 21, CleartextFileTransfer),
        Service::new(Tcp, 23, CleartextRemoteLogin),
        Service::new(Tcp, 80, CleartextWeb),
        Service::new(Tcp, 502, UnauthenticatedIndustrial),
        Service::new(Tcp, 1883, MqttWithoutTls),
        Service::new(Udp, 5683, CoapWithoutDtls),
        Service::new(Udp, 69, CleartextFileTransfer),
        Service::new(Udp, 161, CleartextManagement),
    ]
};

/// A condition other than a listed service; the values are the wire's variant numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlindSpot {
    /// IP instances the hooks could not take.
    UnhookedIp = 1,
    /// Hooks the application replaced.
    HookReplaced = 2,
    /// The network-activity collector is off.
    NetworkActivityOff = 3,
    /// Polls come without a time, or with one before 2020.
    NoClock = 4,
}

impl BlindSpot {
    const ALL: [Self; 4] = [
        Self::UnhookedIp,
        Self::HookReplaced,
        Self::NetworkActivityOff,
        Self::NoClock,
    ];

    /// Its condition bit's index, after the services'.
    const fn index(self) -> usize {
        MAX_SERVICES + self as usize - 1
    }
}

/// Conditions in all.
const CONDITIONS: usize = MAX_SERVICES + BlindSpot::ALL.len();

/// Earliest time taken for a set clock, 2020-01-01: a device clock before it was never set.
pub const CLOCK_SET_AFTER: u32 = 1_577_836_800;

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A listed service is offered.
    Service(Service),
    /// A blind spot, with its count (unhooked IPs, replaced hooks; 0 for the others).
    BlindSpot(BlindSpot, u32),
}

/// One finding to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Started (`true`) or ended.
    pub active: bool,
    /// When it was seen to start or end.
    pub time: u32,
    /// What it is about.
    pub subject: Subject,
}

/// The conditions, the list and what has been reported.
#[derive(Debug)]
pub struct Findings {
    /// The application's list, its first `custom` entries; [`DEFAULT_SERVICES`] while
    /// `custom` is 0. (Not an `Option` per entry: its `None` is a non-zero byte, which
    /// would move the whole monitor out of `.bss`.)
    services: [Service; MAX_SERVICES],
    custom: u8,
    /// Conditions holding now, and as last reported.
    active: u32,
    reported: u32,
    /// When each condition last changed.
    changed_at: [u32; CONDITIONS],
    /// The blind-spot counts, as last seen.
    unhooked: u32,
    replaced: u32,
}

impl Default for Findings {
    fn default() -> Self {
        Self::new()
    }
}

impl Findings {
    /// No condition, the default list (all zero bytes).
    pub const fn new() -> Self {
        Self {
            services: [Service::NONE; MAX_SERVICES],
            custom: 0,
            active: 0,
            reported: 0,
            changed_at: [0; CONDITIONS],
            unhooked: 0,
            replaced: 0,
        }
    }

    /// The risky-service list in force.
    pub fn services(&self) -> impl Iterator<Item = Service> + '_ {
        let custom = usize::from(self.custom);
        let default = if custom == 0 {
            DEFAULT_SERVICES.len()
        } else {
            0
        };
        let listed = self.services.iter().copied().take(custom);
        listed.chain(DEFAULT_SERVICES.iter().copied().take(default))
    }

    /// Entries of the list in force.
    pub fn service_count(&self) -> u32 {
        self.services().count() as u32
    }

    /// Marks every listed service reported active as ended at `now`: what to report before
    /// the list changes.
    pub fn end_services(&mut self, now: u32) {
        self.set_bits(0, SERVICE_BITS & self.reported, now);
    }

    /// Replaces the list (`None`, or an empty list: back to the defaults; at most
    /// [`MAX_SERVICES`] taken).
    /// The old list's conditions are forgotten: report their ends first
    /// ([`end_services`](Self::end_services)). The next inventory read starts the new ones.
    pub fn set_services(&mut self, services: Option<&[Service]>) {
        self.services = [Service::NONE; MAX_SERVICES];
        let services = services.unwrap_or_default();
        for (slot, service) in self.services.iter_mut().zip(services) {
            *slot = *service;
        }
        self.custom = services.len().min(MAX_SERVICES) as u8;
        self.active &= !SERVICE_BITS;
        self.reported &= !SERVICE_BITS;
    }

    /// The services offered by `sockets` become the holding service conditions.
    pub fn inventory_read(&mut self, sockets: &[Socket], now: u32) {
        let mut bits = 0u32;
        for (index, service) in self.services().enumerate() {
            if sockets.iter().any(|socket| service.offered_by(socket)) {
                bits |= 1 << index;
            }
        }
        self.set_bits(bits, SERVICE_BITS, now);
    }

    /// The platform's blind-spot counts.
    pub fn hooks(&mut self, unhooked: u32, replaced: u32, now: u32) {
        self.set(BlindSpot::UnhookedIp, unhooked != 0, now);
        self.set(BlindSpot::HookReplaced, replaced != 0, now);
        self.unhooked = unhooked;
        self.replaced = replaced;
    }

    /// The blind-spot counts as last seen: unhooked IP instances, replaced hooks.
    pub fn hook_counts(&self) -> (u32, u32) {
        (self.unhooked, self.replaced)
    }

    /// Sets whether a blind spot holds.
    pub fn set(&mut self, spot: BlindSpot, holds: bool, now: u32) {
        let bit = 1 << spot.index();
        self.set_bits(if holds { bit } else { 0 }, bit, now);
    }

    /// Sets the conditions under `mask` to `bits`, stamping those that change.
    fn set_bits(&mut self, bits: u32, mask: u32, now: u32) {
        let changed = (self.active ^ bits) & mask;
        // Nearly every call changes nothing (a poll restating the clock and the switch).
        if changed == 0 {
            return;
        }
        for (index, at) in self.changed_at.iter_mut().enumerate() {
            if changed & (1 << index) != 0 {
                *at = now;
            }
        }
        self.active = (self.active & !mask) | (bits & mask);
    }

    /// Whether a blind spot holds now.
    pub fn holds(&self, spot: BlindSpot) -> bool {
        self.active & (1 << spot.index()) != 0
    }

    /// Whether any finding waits to be reported.
    pub fn pending(&self) -> bool {
        self.active != self.reported
    }

    /// Calls `f` with each finding waiting to be reported, in condition order. (A `dyn`
    /// callback: generic, the walk was built once per caller and sink, four copies.)
    pub fn for_each_waiting(&self, f: &mut dyn FnMut(Finding)) {
        let changed = self.active ^ self.reported;
        let services = self
            .services()
            .enumerate()
            .map(|(index, service)| (index, Subject::Service(service)));
        let spots = BlindSpot::ALL.iter().map(|&spot| {
            let count = match spot {
                BlindSpot::UnhookedIp => self.unhooked,
                BlindSpot::HookReplaced => self.replaced,
                _ => 0,
            };
            (spot.index(), Subject::BlindSpot(spot, count))
        });
        for (index, subject) in services.chain(spots) {
            if changed & (1 << index) != 0 {
                f(Finding {
                    active: self.active & (1 << index) != 0,
                    time: self.changed_at.get(index).copied().unwrap_or_default(),
                    subject,
                });
            }
        }
    }

    /// Every waiting finding went out.
    pub fn reported(&mut self) {
        self.reported = self.active;
    }

    /// Conditions holding now: bit per listed service, then bits 16-19 for the blind
    /// spots (unhooked IP, replaced hook, network activity off, no clock).
    pub fn active(&self) -> u32 {
        self.active
    }
}
