//! The inventory: the sockets the platform reports from its stack's own tables (listening
//! TCP ports, bound UDP ports, established TCP connections), checked and kept for the
//! inventory message, with a fingerprint that tells whether anything changed.

use crate::config::capacity;

/// Sockets an inventory lists (`NXSM_INVENTORY_SOCKETS`); the rest are counted.
pub const SOCKETS: usize = capacity::INVENTORY_SOCKETS;

/// What a socket is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// A TCP server port listening on every address.
    TcpListening = 0,
    /// A UDP socket bound to a port on every address.
    UdpBound = 1,
    /// An established TCP connection.
    TcpEstablished = 2,
}

/// One socket as the platform writes it: the C `nxsm_socket`, field for field (the C API
/// checks the layout when it is built). Plain bytes, so whatever the platform wrote is a
/// value; [`Socket::is_valid`] says whether it means anything.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Socket {
    /// A [`SocketKind`].
    pub kind: u8,
    /// 4 or 6 for an established connection; 0 for a listening or bound port.
    pub ip_version: u8,
    /// The IP instance's index in the platform's hook table.
    pub ip_index: u8,
    /// Always 0.
    pub reserved: u8,
    /// Device-side port.
    pub local_port: u16,
    /// Peer port (0 unless established).
    pub remote_port: u16,
    /// Device-side address, wire octet order (all 0 unless established).
    pub local_address: [u8; 16],
    /// Peer address.
    pub remote_address: [u8; 16],
}

impl Socket {
    /// All zero.
    pub const EMPTY: Self = Self {
        kind: 0,
        ip_version: 0,
        ip_index: 0,
        reserved: 0,
        local_port: 0,
        remote_port: 0,
        local_address: [0; 16],
        remote_address: [0; 16],
    };

    /// Its kind, when the byte names one.
    pub fn kind(&self) -> Option<SocketKind> {
        match self.kind {
            0 => Some(SocketKind::TcpListening),
            1 => Some(SocketKind::UdpBound),
            2 => Some(SocketKind::TcpEstablished),
            _ => None,
        }
    }

    /// Whether every field agrees with its kind: a port where one belongs, nothing where
    /// none does, and addresses of the version's width.
    pub fn is_valid(&self) -> bool {
        if self.reserved != 0 || self.local_port == 0 {
            return false;
        }
        match self.kind() {
            Some(SocketKind::TcpListening | SocketKind::UdpBound) => {
                self.ip_version == 0
                    && self.remote_port == 0
                    && self.local_address == [0; 16]
                    && self.remote_address == [0; 16]
            }
            Some(SocketKind::TcpEstablished) => {
                let width = match self.ip_version {
                    4 => 4,
                    6 => 16,
                    _ => return false,
                };
                let unused_zero = |address: &[u8; 16]| {
                    address
                        .get(width..)
                        .is_some_and(|rest| rest.iter().all(|&b| b == 0))
                };
                self.remote_port != 0
                    && unused_zero(&self.local_address)
                    && unused_zero(&self.remote_address)
            }
            None => false,
        }
    }

    /// A 32-bit hash of every field (FNV-1a), for the inventory's fingerprint.
    fn hash(&self) -> u32 {
        let head = [self.kind, self.ip_version, self.ip_index, self.reserved];
        let ports = [
            self.local_port.to_le_bytes(),
            self.remote_port.to_le_bytes(),
        ];
        let bytes = head
            .iter()
            .chain(ports.iter().flatten())
            .chain(self.local_address.iter())
            .chain(self.remote_address.iter());
        bytes.fold(0x811C_9DC5u32, |hash, &byte| {
            (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
        })
    }
}

/// What a read of the socket tables said besides the sockets (the C
/// `nxsm_inventory_scan`'s fields the platform sets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Sockets found, those beyond the room given included.
    pub found: u32,
    /// IP instances not read because their lock was not free in time.
    pub ips_skipped: u32,
    /// IP instances left without hooks (the platform's hook table was full).
    pub ips_unhooked: u32,
    /// Hooks the application replaced since they were installed.
    pub hooks_replaced: u32,
}

/// What became of one read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// Complete: the inventory now holds it; `changed` when it differs from the last one
    /// reported.
    Complete {
        /// It differs from the last inventory reported (or none was).
        changed: bool,
    },
    /// An IP instance could not be read: nothing is reported from this read.
    Incomplete,
}

/// Counters of the inventory since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InventoryCounters {
    /// Reads made.
    pub reads: u32,
    /// Reads not reported because an IP instance could not be read.
    pub incomplete: u32,
    /// Entries the platform wrote that broke a rule of their kind, left out.
    pub invalid: u32,
    /// Sockets found beyond the room of the last complete read (not listed).
    pub overflow: u32,
    /// Inventories put into the outbox.
    pub sent: u32,
}

/// The latest complete read and what was last reported.
#[derive(Debug)]
pub struct Inventory {
    sockets: [Socket; SOCKETS],
    /// Valid sockets at the front of `sockets`.
    stored: usize,
    /// Sockets the latest read found.
    found: u32,
    /// The latest complete read is held (none before the first).
    complete: bool,
    /// Fingerprint of the held read, and of the last one reported.
    fingerprint: u32,
    reported: Option<u32>,
    counters: InventoryCounters,
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new()
    }
}

impl Inventory {
    /// Nothing read yet (all zero bytes).
    pub const fn new() -> Self {
        Self {
            sockets: [Socket::EMPTY; SOCKETS],
            stored: 0,
            found: 0,
            complete: false,
            fingerprint: 0,
            reported: None,
            counters: InventoryCounters {
                reads: 0,
                incomplete: 0,
                invalid: 0,
                overflow: 0,
                sent: 0,
            },
        }
    }

    /// Reads the socket tables through `source`, which writes sockets into the room it is
    /// given (it still holds the last read's: the C API zeroes it first) and says what it
    /// found (`None`: the platform has no source). Entries that break a rule are left out
    /// and counted.
    pub fn read(
        &mut self,
        source: impl FnOnce(&mut [Socket]) -> Option<Scan>,
    ) -> Option<(Read, Scan)> {
        let scan = source(&mut self.sockets)?;
        self.counters.reads = self.counters.reads.wrapping_add(1);
        if scan.ips_skipped != 0 {
            self.complete = false;
            self.stored = 0;
            self.counters.incomplete = self.counters.incomplete.saturating_add(1);
            return Some((Read::Incomplete, scan));
        }
        // What the platform says it wrote, within the room it had.
        let written = (scan.found as usize).min(SOCKETS);
        let mut kept = 0usize;
        let mut fingerprint = 0u32;
        for at in 0..written {
            let Some(socket) = self.sockets.get(at).copied() else {
                break;
            };
            if !socket.is_valid() {
                self.counters.invalid = self.counters.invalid.saturating_add(1);
                continue;
            }
            if let Some(slot) = self.sockets.get_mut(kept) {
                *slot = socket;
            }
            kept += 1;
            // A sum: the same sockets in another order are the same inventory.
            fingerprint = fingerprint.wrapping_add(socket.hash());
        }
        if let Some(rest) = self.sockets.get_mut(kept..) {
            rest.fill(Socket::EMPTY);
        }
        self.stored = kept;
        self.found = scan.found;
        self.counters.overflow = scan.found.saturating_sub(written as u32);
        self.fingerprint = fingerprint ^ self.found;
        self.complete = true;
        let changed = self.reported != Some(self.fingerprint);
        Some((Read::Complete { changed }, scan))
    }

    /// The held sockets, when the latest read was complete.
    pub fn sockets(&self) -> Option<&[Socket]> {
        if !self.complete {
            return None;
        }
        self.sockets.get(..self.stored)
    }

    /// Sockets the latest read found (listed or not).
    pub fn found(&self) -> u32 {
        self.found
    }

    /// The held read went into the outbox.
    pub fn reported(&mut self) {
        self.reported = Some(self.fingerprint);
        self.counters.sent = self.counters.sent.saturating_add(1);
    }

    /// Counters since boot.
    pub fn counters(&self) -> InventoryCounters {
        self.counters
    }
}
