//! The request bodies' JSON schemas, and the shapes they share (text,
//! ids, plates, classes).

use serde_json::{Value, json};

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": properties })
}

/// Text the server takes: not blank, at most `max` characters.
fn text(max: u32) -> Value {
    json!({ "type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S" })
}

/// A registry id as the server makes them (a UUID's 32 hex digits).
fn id() -> Value {
    json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" })
}

/// A plate in one of its common spellings (`29A-123.45`, `29A12345`,
/// `30LD-1234`); the server also takes spaces and `·` between groups.
pub(super) fn plate() -> Value {
    json!({ "type": "string", "pattern": "^[0-9]{2}[A-Za-z]{1,2}-?[0-9]{3,4}\\.?[0-9]{1,2}$", "examples": ["29A-123.45"] })
}

/// A vehicle class: a built-in one or a configured lower-case name.
pub(super) fn class() -> Value {
    json!({ "type": "string", "pattern": "^[a-z][a-z0-9_]{0,31}$", "examples": ["motorbike", "car", "bus_truck", "bicycle"] })
}

pub(super) fn schemas() -> Value {
    let s = json!({ "type": "string" });
    let n = json!({ "type": "integer", "format": "int64" });
    let vnd = json!({ "type": "integer", "format": "int64", "minimum": 0 });
    let date = json!({ "type": "string", "format": "date" });
    let phone = json!({ "type": ["string", "null"] });
    // Two letters, six characters, a check character; no I, L, O or U.
    let payment_code =
        json!({ "type": "string", "pattern": "^[A-HJKMNP-TV-Za-hjkmnp-tv-z]{2}[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{7}$" });
    // CMND (9 digits) or CCCD (12); the server also ignores spaces.
    let citizen_id = json!({ "type": "string", "pattern": "^[0-9]{9}([0-9]{3})?$" });
    // EPC and TID: whole 16-bit words in hex; a TID starts with its
    // allocation class (E0, E2 or E3) and has at least two words.
    let epc =
        json!({ "type": "string", "pattern": "^([0-9A-Fa-f]{4}){1,31}$", "examples": ["E200301666130121155074EF"] });
    let tid = json!({ "type": "string", "pattern": "^[Ee][023][0-9A-Fa-f]{2}([0-9A-Fa-f]{4}){1,31}$" });
    json!({
        "NewOwner": object(&["name", "id_number"], json!({ "name": text(200), "id_number": citizen_id.clone(), "phone": phone })),
        "OwnerInput": object(&["name"], json!({ "name": text(200), "id_number": citizen_id.clone(), "phone": phone })),
        "IdNumber": object(&["id_number"], json!({ "id_number": citizen_id })),
        "AccountInput": object(&["owner_id"], json!({ "owner_id": id(), "credit_limit_vnd": vnd, "state": { "enum": ["active", "blocked"] } })),
        "TopUpInput": object(&["amount_vnd", "reference"], json!({ "amount_vnd": { "type": "integer", "minimum": 1, "maximum": 1_000_000_000 }, "reference": text(200) })),
        "VehicleInput": object(&["plate", "class"], json!({ "plate": plate(), "class": class(), "owner_id": id(), "account_id": id(), "state": { "enum": ["active", "stolen"] } })),
        "TagInput": object(&["epc", "vehicle_id"], json!({ "epc": epc, "tid": tid, "vehicle_id": id(), "state": { "enum": ["active", "suspended", "blocked", "stolen", "cloned"] } })),
        "PassInput": object(&["vehicle_id", "valid_from", "valid_until", "price_vnd"], json!({ "vehicle_id": id(), "valid_from": date, "valid_until": date, "price_vnd": vnd, "state": { "enum": ["active", "cancelled"] } })),
        "PassSale": object(&["vehicle_id", "months", "account_id"], json!({ "vehicle_id": id(), "months": { "type": "integer", "minimum": 1, "maximum": 12 }, "valid_from": date, "account_id": id() })),
        "TagReplacement": object(&["epc"], json!({ "epc": epc.clone(), "tid": tid.clone() })),
        "Resolution": object(&["note"], json!({ "note": text(1000) })),
        "PinRequest": object(&[], json!({ "pin": { "type": "string", "pattern": "^[0-9]{6,8}$" } })),
        "DriverLogin": object(&["phone", "pin"], json!({ "phone": { "type": "string", "minLength": 9, "maxLength": 20 }, "pin": { "type": "string", "minLength": 1, "maxLength": 16 } })),
        "DriverLink": object(&["key"], json!({ "key": { "type": "string", "minLength": 1, "maxLength": 100 } })),
        "DriverPass": object(&["vehicle_id", "months", "account_id"], json!({ "vehicle_id": id(), "months": { "type": "integer", "minimum": 1, "maximum": 12 }, "account_id": id() })),
        "OccupancyAdjust": object(&["class", "inside", "note"], json!({ "class": class(), "inside": { "type": "integer", "minimum": 0, "maximum": 100_000 }, "note": { "type": "string", "minLength": 3, "maxLength": 500, "pattern": "\\S" } })),
        "TokenRequest": object(&["role", "label"], json!({ "role": { "enum": ["admin", "operator", "tax_officer"] }, "label": text(100) })),
        "SepayNotification": { "type": "object", "required": ["id", "transactionDate", "transferType", "transferAmount"], "properties": { "id": n, "gateway": s, "transactionDate": { "type": "string", "examples": ["2023-03-25 14:02:37"] }, "accountNumber": s, "code": { "type": ["string", "null"] }, "content": s, "transferType": { "enum": ["in", "out"] }, "transferAmount": n, "accumulated": n, "referenceCode": s, "description": s } },
        "CassoNotification": { "type": "object", "required": ["error", "data"], "properties": { "error": n, "data": { "type": "object", "required": ["id", "amount", "transactionDateTime"], "properties": { "id": n, "reference": s, "description": s, "amount": n, "transactionDateTime": s, "accountNumber": s } } } },
        "TransferResolution": { "oneOf": [
            object(&["action", "payment_code", "note"], json!({ "action": { "const": "stay" }, "payment_code": payment_code, "note": text(500) })),
            object(&["action", "account_id", "note"], json!({ "action": { "const": "account" }, "account_id": id(), "note": text(500) })),
            object(&["action", "note"], json!({ "action": { "const": "refund" }, "note": text(500) })),
        ] },
        "Login": { "oneOf": [
            object(&["username", "password"], json!({ "username": text(64), "password": text(1024) })),
            object(&["token"], json!({ "token": s })),
        ] },
        "NewUser": object(&["username", "role"], json!({
            "username": { "type": "string", "pattern": "^[A-Za-z0-9._-]{3,32}$" },
            "display_name": text(100),
            "role": { "enum": ["admin", "operator", "tax_officer"] },
            "password": { "type": ["string", "null"], "minLength": 10, "maxLength": 128 },
        })),
        "NewPassword": object(&[], json!({ "password": { "type": ["string", "null"], "minLength": 10, "maxLength": 128 } })),
        "ManualOpen": object(&["reason", "note"], json!({ "reason": { "enum": ["emergency_vehicle", "equipment_fault", "payment_problem", "unreadable_credential", "other"] }, "note": { "type": "string", "minLength": 3, "maxLength": 500, "pattern": "^\\S(.*\\S)?$" } })),
        "HoldDecision": object(&["release", "note"], json!({ "release": { "type": "boolean" }, "note": { "type": "string", "minLength": 3, "maxLength": 500, "pattern": "^\\S(.*\\S)?$" } })),
        "RefundPaid": object(&["reference"], json!({ "reference": text(200) })),
        "Error": object(&["error", "message"], json!({ "error": s, "message": s })),
    })
}
