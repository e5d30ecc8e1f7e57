//! Messages on a gate's topics: reads, gate events, commands, the barrier and the display.

use serde::{Deserialize, Serialize};

use super::V1;
use crate::ids::{Epc, EventId, GateId, LotId, Tid};
use crate::money::Vnd;
use crate::payment_code::PaymentCode;
use crate::plate::Plate;
use crate::tariff::{Fee, TariffVersion};
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;

/// Which way a lane lets vehicles through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Entry,
    Exit,
}

/// One tag presence: a tag read over and over while a vehicle waits,
/// collapsed into one record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagPresence {
    pub epc: Epc,
    /// Read when the reader is set to fetch it; a clone shows a foreign TID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Tid>,
    pub antenna: u8,
    /// Best RSSI seen, in the reader's own units (dBm or a raw byte);
    /// absent for readers that do not report one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rssi: Option<i16>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub reads: u32,
}

/// What a reader or camera saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Read {
    Tag(TagPresence),
    /// A QR code: a printed ticket or a phone screen.
    Qr {
        text: String,
    },
    /// An ANPR camera's plate read, as text with its confidence (0 to 1);
    /// `plate` is set when the text parses as a plate.
    Plate {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plate: Option<Plate>,
        confidence: f32,
    },
    /// The entry kiosk's ticket button: a driver without a tag asks for a
    /// QR ticket.
    TicketButton,
}

/// `…/gate/{gate}/read`: a read, bridged from a reader or camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReadMsg {
    pub v: V1,
    pub gate: GateId,
    pub at: Timestamp,
    pub read: Read,
}

/// `…/gate/{gate}/loop`: the loop detector under the arm changed state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopMsg {
    pub v: V1,
    pub gate: GateId,
    pub at: Timestamp,
    pub occupied: bool,
}

/// What a vehicle presented at the gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credential {
    Tag {
        epc: Epc,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tid: Option<Tid>,
    },
    /// A QR ticket issued at entry; `code` is the signed ticket text.
    Ticket { code: String },
    /// Recognised by plate alone (ANPR).
    Plate { plate: Plate },
    /// Nothing: the driver pressed for a ticket.
    None,
}

/// How an exit was settled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Settlement {
    /// The fee is to be debited from this prepaid account.
    Account { account: String },
    /// Paid by transfer before the barrier opened.
    Transfer { payment_code: PaymentCode, paid: Vnd },
    /// A monthly pass covered it.
    Pass { pass: String },
    /// Nothing owed (grace period).
    Free,
    /// Left without paying (manual open, exception); owed.
    Unpaid { owed: Vnd },
}

/// Why a gate refused a vehicle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    StolenVehicle,
    BlockedAccount,
    /// Same EPC, different TID.
    ClonedTag,
    /// The tag's registered plate differs from the plate the camera read.
    PlateMismatch,
    /// Anti-passback: the tag is already inside.
    AlreadyInside,
    ForgedTicket,
    /// A ticket that already let a vehicle out.
    TicketAlreadyUsed,
    ExpiredPass,
    /// A tag that is not inside tried to leave, and policy refuses it.
    NotInside,
    /// The lot blocked this tag (the registry's `blocked` state): refused
    /// until unblocked.
    BlockedTag,
}

/// What an operator must look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    DenyListHit,
    ClonedTag,
    /// The loop stayed occupied with the arm up too long.
    ArmHeldOpen,
    /// The barrier opened but no vehicle crossed the loop.
    VehicleNeverPassed,
    /// Two loop passages for one open.
    Tailgating,
    ReaderOffline,
    BarrierNotAnswering,
    /// A tag that is not inside tried to exit.
    ExitWithoutEntry,
    /// A ticket whose signature does not verify.
    ForgedTicket,
    /// A vehicle crossed the loop with no open before it.
    PassageWithoutOpen,
    /// No tariff is in force, or it does not price the class: the exit
    /// lane cannot compute a fee.
    NoTariff,
    /// The controller's configuration cannot serve a request (e.g. an
    /// unusable ticket key).
    ConfigError,
    /// The controller cannot write its journal (a full or failing disk):
    /// its lanes keep working and their events go to the server from
    /// memory until the journal takes them again.
    JournalFailing,
    /// "Xe ra đúng xe vào": the plate at the exit is not the plate the
    /// stay entered with (beyond one ANPR error), or a plate the lot's
    /// policy requires was not read. The lane holds the barrier for staff.
    PlateMismatch,
    /// A tag read on a vehicle whose plate is not the tag's registered
    /// plate: the tag was moved to another car. The lot's policy says
    /// whether the lane also holds the barrier.
    TagOnOtherVehicle,
}

/// Why an operator opened a barrier by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualOpenReason {
    EmergencyVehicle,
    EquipmentFault,
    PaymentProblem,
    UnreadableCredential,
    Other,
}

/// What happened at a gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GateEventKind {
    Entry {
        credential: Credential,
        class: VehicleClass,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plate: Option<Plate>,
    },
    Exit {
        credential: Credential,
        class: VehicleClass,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plate: Option<Plate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entered_at: Option<Timestamp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fee: Option<Fee>,
        settlement: Settlement,
    },
    /// An exit lane priced a stay and now shows a VietQR for it: the
    /// server learns what the payment code is owed, so it can match the
    /// transfer that pays it.
    PaymentRequested {
        credential: Credential,
        class: VehicleClass,
        entered_at: Timestamp,
        fee: Fee,
        payment_code: PaymentCode,
        /// What is still owed (the fee, less anything paid in advance).
        owed: Vnd,
    },
    Denied {
        credential: Credential,
        reason: DenyReason,
    },
    ManualOpen {
        operator: String,
        reason: ManualOpenReason,
        note: String,
    },
    Alarm {
        alarm: AlarmKind,
        detail: String,
    },
    /// The lane holds the barrier for staff: `alarm` says why
    /// (`plate_mismatch`, `tag_on_other_vehicle`), `detail` names both
    /// plates. Raised as that alarm; the lane takes no other credential
    /// until a `hold_decided`.
    Held {
        credential: Credential,
        alarm: AlarmKind,
        /// The plate the stay entered with (a tag's: its registered
        /// plate), if one was read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entered: Option<Plate>,
        /// The plate the camera reads now, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seen: Option<Plate>,
        detail: String,
    },
    /// Staff decided a held lane (a plate mismatch, a tag on another
    /// vehicle): released, the lane goes on with the credential as if the
    /// check had passed (the fee still applies); refused, it stays shut.
    HoldDecided {
        operator: String,
        released: bool,
        note: String,
    },
}

impl GateEventKind {
    /// Every kind's name, as [`GateEventKind::name`] gives them.
    pub const NAMES: [&'static str; 8] =
        ["entry", "exit", "payment_requested", "denied", "manual_open", "alarm", "held", "hold_decided"];

    /// The kind's name as it travels (the `type` field).
    pub fn name(&self) -> &'static str {
        match self {
            GateEventKind::Entry { .. } => "entry",
            GateEventKind::Exit { .. } => "exit",
            GateEventKind::PaymentRequested { .. } => "payment_requested",
            GateEventKind::Denied { .. } => "denied",
            GateEventKind::ManualOpen { .. } => "manual_open",
            GateEventKind::Alarm { .. } => "alarm",
            GateEventKind::Held { .. } => "held",
            GateEventKind::HoldDecided { .. } => "hold_decided",
        }
    }
}

/// `…/gate/{gate}/event`: one decision or happening at a gate, journaled
/// at the controller and deleted there only once the server acknowledges
/// its `event_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateEvent {
    pub v: V1,
    pub event_id: EventId,
    pub lot: LotId,
    pub gate: GateId,
    /// Per-gate sequence number, to spot gaps and order a backlog.
    pub seq: u64,
    pub at: Timestamp,
    /// Version of the lists the decision was made with.
    pub list_version: u64,
    /// Version of the tariff the decision was made with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tariff_version: Option<TariffVersion>,
    #[serde(flatten)]
    pub kind: GateEventKind,
}

/// `…/gate/{gate}/ack`: the server has committed these events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAck {
    pub v: V1,
    pub event_ids: Vec<EventId>,
}

/// What the server asks a lane to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Money for this payment code arrived; `remaining` is what is still
    /// owed (zero releases the vehicle).
    PaymentConfirmed {
        payment_code: PaymentCode,
        paid: Vnd,
        remaining: Vnd,
        /// Once paid in full: the link of the stay's receipt, for the lane
        /// to show as a QR code as the vehicle leaves.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt: Option<String>,
    },
    ManualOpen {
        operator: String,
        reason: ManualOpenReason,
        note: String,
    },
    ShowMessage {
        text: String,
    },
    /// Staff decide a held lane: release it (the stay goes on to its fee)
    /// or refuse the vehicle.
    HoldDecision {
        operator: String,
        release: bool,
        note: String,
    },
}

/// `…/gate/{gate}/cmd`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateCommand {
    pub v: V1,
    /// Unique, so a redelivered command is applied once.
    pub command_id: uuid::Uuid,
    pub issued_at: Timestamp,
    #[serde(flatten)]
    pub command: Command,
}

/// `…/gate/{gate}/barrier`: pulse the OPEN contact. There is deliberately
/// no close: the barrier cabinet's own safety logic closes the arm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BarrierCommand {
    pub v: V1,
    pub command_id: uuid::Uuid,
    pub at: Timestamp,
    pub pulse_ms: u16,
}

/// `…/gate/{gate}/display`: what the lane display shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayMsg {
    pub v: V1,
    pub gate: GateId,
    pub at: Timestamp,
    pub lines: Vec<String>,
    /// A VietQR payload to render as a QR code, with its amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vietqr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Vnd>,
    /// A ticket to print (or show on a screen), as its QR text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// A paid stay's receipt link, to show as a QR code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}
