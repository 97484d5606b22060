//! The findings event (wire format section 3.7): weaknesses of the device's set-up.

use std::fmt;

use serde::de::{Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::{be16, PairVisitor, Protocol, Unknown};

/// One finding: the variant number is the condition.
///
/// On the wire: the variant number as a varint, then the [`FindingHead`], then the
/// condition's own fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Finding {
    /// Variant 0: a socket listens or is bound on a port of the risky-service list.
    RiskyService(FindingHead, RiskyService),
    /// Variant 1: `NX_IP` instances the hooks could not take (the count).
    UnhookedIp(FindingHead, u32),
    /// Variant 2: hooks the application replaced (the count).
    HookReplaced(FindingHead, u32),
    /// Variant 3: the network-activity collector is switched off.
    NetworkActivityOff(FindingHead),
    /// Variant 4: polls come without a time, or with one before 2020-01-01.
    NoClock(FindingHead),
}

/// The fields every finding starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingHead {
    /// true when the condition started, false when it ended.
    pub active: bool,
    /// Unix seconds when the condition was seen to start or end.
    pub time: u32,
}

/// The service of a [`Finding::RiskyService`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskyService {
    /// 0 TCP, 1 UDP (other values are invalid).
    pub protocol: u8,
    /// The port.
    #[serde(with = "be16")]
    pub port: u16,
    /// Why it is risky ([`RiskyReason`]'s number).
    pub reason: u32,
}

impl RiskyService {
    /// The protocol (`None` for a value other than 0 and 1).
    pub fn protocol(&self) -> Option<Protocol> {
        match self.protocol {
            0 => Some(Protocol::Tcp),
            1 => Some(Protocol::Udp),
            _ => None,
        }
    }

    /// The reason (`None` for an unknown number).
    pub fn reason(&self) -> Option<RiskyReason> {
        RiskyReason::from_number(self.reason)
    }
}

/// Why a service is risky, in wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskyReason {
    /// 0: the application listed the port.
    ListedByApplication,
    /// 1: clear-text file transfer (FTP, TFTP).
    CleartextFileTransfer,
    /// 2: clear-text remote login (Telnet).
    CleartextRemoteLogin,
    /// 3: clear-text web (HTTP).
    CleartextWeb,
    /// 4: unauthenticated industrial protocol (Modbus/TCP).
    UnauthenticatedIndustrial,
    /// 5: MQTT without TLS.
    MqttWithoutTls,
    /// 6: CoAP without DTLS.
    CoapWithoutDtls,
    /// 7: clear-text management (SNMP).
    CleartextManagement,
}

impl RiskyReason {
    const ALL: [RiskyReason; 8] = [
        RiskyReason::ListedByApplication,
        RiskyReason::CleartextFileTransfer,
        RiskyReason::CleartextRemoteLogin,
        RiskyReason::CleartextWeb,
        RiskyReason::UnauthenticatedIndustrial,
        RiskyReason::MqttWithoutTls,
        RiskyReason::CoapWithoutDtls,
        RiskyReason::CleartextManagement,
    ];

    /// The reason of a wire number.
    pub fn from_number(number: u32) -> Option<Self> {
        usize::try_from(number)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// The wire number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The name used in JSON and replay output.
    pub fn name(self) -> &'static str {
        match self {
            RiskyReason::ListedByApplication => "listed_by_application",
            RiskyReason::CleartextFileTransfer => "cleartext_file_transfer",
            RiskyReason::CleartextRemoteLogin => "cleartext_remote_login",
            RiskyReason::CleartextWeb => "cleartext_web",
            RiskyReason::UnauthenticatedIndustrial => "unauthenticated_industrial",
            RiskyReason::MqttWithoutTls => "mqtt_without_tls",
            RiskyReason::CoapWithoutDtls => "coap_without_dtls",
            RiskyReason::CleartextManagement => "cleartext_management",
        }
    }
}

/// The kinds of [`Finding`], in their wire order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    /// [`Finding::RiskyService`].
    RiskyService,
    /// [`Finding::UnhookedIp`].
    UnhookedIp,
    /// [`Finding::HookReplaced`].
    HookReplaced,
    /// [`Finding::NetworkActivityOff`].
    NetworkActivityOff,
    /// [`Finding::NoClock`].
    NoClock,
}

impl FindingKind {
    /// The name used in JSON and replay output.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::RiskyService => "risky_service",
            FindingKind::UnhookedIp => "unhooked_ip",
            FindingKind::HookReplaced => "hook_replaced",
            FindingKind::NetworkActivityOff => "network_activity_off",
            FindingKind::NoClock => "no_clock",
        }
    }

    /// The wire variant number.
    pub fn number(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Finding {
    /// Which condition this is.
    pub fn kind(&self) -> FindingKind {
        match self {
            Finding::RiskyService(..) => FindingKind::RiskyService,
            Finding::UnhookedIp(..) => FindingKind::UnhookedIp,
            Finding::HookReplaced(..) => FindingKind::HookReplaced,
            Finding::NetworkActivityOff(_) => FindingKind::NetworkActivityOff,
            Finding::NoClock(_) => FindingKind::NoClock,
        }
    }

    /// The fields every finding starts with.
    pub fn head(&self) -> &FindingHead {
        match self {
            Finding::RiskyService(head, _)
            | Finding::UnhookedIp(head, _)
            | Finding::HookReplaced(head, _)
            | Finding::NetworkActivityOff(head)
            | Finding::NoClock(head) => head,
        }
    }

    /// The service, for [`Finding::RiskyService`].
    pub fn service(&self) -> Option<&RiskyService> {
        match self {
            Finding::RiskyService(_, service) => Some(service),
            _ => None,
        }
    }

    /// The count, for [`Finding::UnhookedIp`] and [`Finding::HookReplaced`].
    pub fn count(&self) -> Option<u32> {
        match *self {
            Finding::UnhookedIp(_, count) | Finding::HookReplaced(_, count) => Some(count),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Finding {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_enum(
            "Finding",
            &[
                "RiskyService",
                "UnhookedIp",
                "HookReplaced",
                "NetworkActivityOff",
                "NoClock",
            ],
            FindingVisitor,
        )
    }
}

struct FindingVisitor;

impl<'de> Visitor<'de> for FindingVisitor {
    type Value = Finding;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a finding: variant 0, 1, 2, 3 or 4")
    }

    fn visit_enum<E: EnumAccess<'de>>(self, data: E) -> Result<Finding, E::Error> {
        let (number, payload): (u32, _) = data.variant()?;
        match number {
            0 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, service)| Finding::RiskyService(head, service)),
            1 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, count)| Finding::UnhookedIp(head, count)),
            2 => payload
                .tuple_variant(2, PairVisitor::default())
                .map(|(head, count)| Finding::HookReplaced(head, count)),
            3 => payload.newtype_variant().map(Finding::NetworkActivityOff),
            4 => payload.newtype_variant().map(Finding::NoClock),
            other => Err(Unknown::Finding(other).raise()),
        }
    }
}
