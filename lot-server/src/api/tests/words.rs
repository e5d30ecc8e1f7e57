//! Every code the server sends to the page has words in both of the
//! page's languages (`dashboard/i18n.js`): each variant of each enum that
//! reaches it, listed through exhaustive matches so that a new variant
//! does not compile here until it is listed, and every error code.

use parking_core::tariff::FeeItemKind;
use parking_core::vehicle::VehicleClass;
use parking_core::wire::{AlarmKind, BarrierState, DenyReason, ManualOpenReason};

use crate::registry::{AccountState, PassState, TagState, VehicleState};
use crate::tax::Channel;
use crate::tokens::Role;

const WORDS: &str = include_str!("../../dashboard/i18n.js");

fn code(v: impl serde::Serialize) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()
}

fn deny(r: DenyReason) -> DenyReason {
    use DenyReason::*;
    match r {
        StolenVehicle | BlockedAccount | ClonedTag | PlateMismatch | AlreadyInside | ForgedTicket
        | TicketAlreadyUsed | ExpiredPass | NotInside | BlockedTag => r,
    }
}

fn alarm(a: AlarmKind) -> AlarmKind {
    use AlarmKind::*;
    match a {
        DenyListHit | ClonedTag | ArmHeldOpen | VehicleNeverPassed | Tailgating | ReaderOffline
        | BarrierNotAnswering | ExitWithoutEntry | ForgedTicket | PassageWithoutOpen | NoTariff | ConfigError
        | JournalFailing | PlateMismatch | TagOnOtherVehicle => a,
    }
}

fn fee(f: FeeItemKind) -> FeeItemKind {
    use FeeItemKind::*;
    match f {
        Grace | DayTurn | NightTurn | Overnight | FirstBlock | ExtraHoursDay | ExtraHoursNight | DailyCap => f,
    }
}

#[test]
fn every_code_the_page_shows_has_words_in_both_languages() {
    use AlarmKind as A;
    use DenyReason as D;
    let mut keys: Vec<String> = Vec::new();
    for r in [
        D::StolenVehicle,
        D::BlockedAccount,
        D::ClonedTag,
        D::PlateMismatch,
        D::AlreadyInside,
        D::ForgedTicket,
        D::TicketAlreadyUsed,
        D::ExpiredPass,
        D::NotInside,
        D::BlockedTag,
    ] {
        keys.push(format!("deny.{}", code(deny(r))));
    }
    for a in [
        A::DenyListHit,
        A::ClonedTag,
        A::ArmHeldOpen,
        A::VehicleNeverPassed,
        A::Tailgating,
        A::ReaderOffline,
        A::BarrierNotAnswering,
        A::ExitWithoutEntry,
        A::ForgedTicket,
        A::PassageWithoutOpen,
        A::NoTariff,
        A::ConfigError,
        A::JournalFailing,
        A::PlateMismatch,
        A::TagOnOtherVehicle,
    ] {
        keys.push(format!("alarm.{}", code(alarm(a))));
    }
    use FeeItemKind as F;
    for f in [
        F::Grace,
        F::DayTurn,
        F::NightTurn,
        F::Overnight,
        F::FirstBlock,
        F::ExtraHoursDay,
        F::ExtraHoursNight,
        F::DailyCap,
    ] {
        keys.push(format!("fee.{}", code(fee(f))));
    }
    use ManualOpenReason as M;
    for r in [M::EmergencyVehicle, M::EquipmentFault, M::PaymentProblem, M::UnreadableCredential, M::Other] {
        keys.push(format!("reason.{}", code(r)));
    }
    for b in [BarrierState::Closed, BarrierState::Opening, BarrierState::Open, BarrierState::Unknown] {
        keys.push(format!("barrier.{}", code(b)));
    }
    for c in VehicleClass::BUILT_IN {
        keys.push(format!("class.{}", c.as_str()));
    }
    for c in Channel::ALL.iter().map(|c| c.as_str()).chain(["unpaid"]) {
        keys.push(format!("channel.{c}"));
    }
    fn role(r: Role) -> Role {
        match r {
            Role::Admin | Role::Operator | Role::TaxOfficer | Role::Driver => r,
        }
    }
    for r in [Role::Admin, Role::Operator, Role::TaxOfficer, Role::Driver].map(role) {
        keys.push(format!("role.{}", r.as_str()));
    }
    let states = [
        code(TagState::Active),
        code(TagState::Suspended),
        code(TagState::Blocked),
        code(TagState::Stolen),
        code(TagState::Cloned),
        code(VehicleState::Stolen),
        code(AccountState::Blocked),
        code(PassState::Cancelled),
    ];
    keys.extend(states.iter().map(|s| format!("reg.{s}")));
    // What the journal's, the settlement's and the tax side's records call their kinds.
    for k in [
        "manual_open",
        "denied",
        "cloned_tag",
        "double_entry",
        "exit_without_entry",
        "unknown_account",
        "unsettled_exit",
        "vat_not_configured",
    ] {
        keys.push(format!("exception.{k}"));
    }
    for k in [
        "unpaid_exit",
        "unsettled_exit",
        "unknown_account",
        "manual_open",
        "vat_not_configured",
        "transfer_suspense",
        "transfer_held",
        "refund_owed",
        "refund_paid",
        "invoice_missing",
    ] {
        keys.push(format!("mismatch.{k}"));
    }
    for k in ["released", "refused"] {
        keys.push(format!("hold.{k}"));
    }
    for k in ["matched", "held", "suspense", "resolved"] {
        keys.push(format!("transfer.{k}"));
    }
    for k in parking_core::wire::GateEventKind::NAMES {
        keys.push(format!("event.{k}"));
        keys.push(format!("decision.{k}"));
    }
    // Every error code the API answers with.
    for k in [
        "unauthorized",
        "forbidden",
        "bad_request",
        "not_found",
        "conflict",
        "unavailable",
        "internal",
        "rate_limited",
        "locked_out",
        "login_failed",
        "password_weak",
        "username_taken",
        "username_invalid",
        "name_invalid",
        "balance_short",
        "no_pass_price",
        "bank_not_configured",
        "over_capacity",
        "pin_weak",
        "phone_missing",
        "phone_invalid",
        "phone_taken",
        "note_length",
        "unknown_class",
    ] {
        keys.push(format!("err.{k}"));
    }
    let missing: Vec<&String> = keys.iter().filter(|k| WORDS.matches(&format!("\"{k}\":")).count() != 2).collect();
    assert!(missing.is_empty(), "codes without words in both vi and en: {missing:?}");
}

/// The drivers' app (`driver/i18n.js`) likewise: every class, fee line,
/// way of paying and error code its pages can be sent.
#[test]
fn every_code_the_drivers_app_shows_has_words_in_both_languages() {
    use crate::owed::How;
    const DRIVER: &str = include_str!("../../driver/i18n.js");
    fn how(h: How) -> How {
        match h {
            How::Transfer | How::Account | How::Pass => h,
        }
    }
    fn tag_state(t: TagState) -> TagState {
        match t {
            TagState::Active | TagState::Suspended | TagState::Blocked | TagState::Stolen | TagState::Cloned => t,
        }
    }
    fn pass_state(p: PassState) -> PassState {
        match p {
            PassState::Active | PassState::Cancelled => p,
        }
    }
    let mut keys = Vec::new();
    for c in [VehicleClass::Bicycle, VehicleClass::Motorbike, VehicleClass::Car, VehicleClass::BusTruck] {
        keys.push(format!("class.{c}"));
    }
    for f in [
        FeeItemKind::Grace,
        FeeItemKind::DayTurn,
        FeeItemKind::NightTurn,
        FeeItemKind::Overnight,
        FeeItemKind::FirstBlock,
        FeeItemKind::ExtraHoursDay,
        FeeItemKind::ExtraHoursNight,
        FeeItemKind::DailyCap,
    ] {
        keys.push(format!("item.{}", code(fee(f))));
    }
    for h in [How::Transfer, How::Account, How::Pass] {
        keys.push(format!("how.{}", code(how(h))));
    }
    for t in [TagState::Active, TagState::Suspended, TagState::Blocked, TagState::Stolen, TagState::Cloned] {
        keys.push(format!("tag.{}", code(tag_state(t))));
    }
    for p in [PassState::Active, PassState::Cancelled] {
        keys.push(format!("pass_state.{}", code(pass_state(p))));
    }
    for s in ["account", "transfer", "pass", "free", "unpaid"] {
        keys.push(format!("settled.{s}"));
    }
    // What the public routes answer with, and what the page itself says.
    for k in [
        "unreadable",
        "not_inside",
        "no_tariff",
        "bad_time",
        "ends_before_start",
        "too_long",
        "class_not_priced",
        "unknown_class",
        "rate_limited",
        "network",
        "internal",
        "scan",
        "login_failed",
        "locked_out",
        "link_used",
        "unauthorized",
        "forbidden",
        "not_found",
        "balance_short",
        "no_pass_price",
        "bad_request",
    ] {
        keys.push(format!("err.{k}"));
    }
    let missing: Vec<&String> = keys.iter().filter(|k| DRIVER.matches(&format!("\"{k}\":")).count() != 2).collect();
    assert!(missing.is_empty(), "codes without words in both vi and en: {missing:?}");
}
