//! The parameters of each operation: its path parameters' shapes and
//! the query parameters each listing takes.

use serde_json::{Value, json};

use super::schemas::{class, plate};

/// The query parameters an operation takes (all optional but where
/// marked), as `(name, schema, required)`.
pub(super) fn query(method: &str, path: &str) -> Vec<(&'static str, Value, bool)> {
    if method != "get" {
        return Vec::new();
    }
    let page = || {
        vec![
            ("limit", json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }), false),
            ("offset", json!({ "type": "integer", "minimum": 0, "default": 0 }), false),
        ]
    };
    let ms = json!({ "type": "integer", "format": "int64", "description": "Unix milliseconds" });
    let date = json!({ "type": "string", "format": "date" });
    // A filter by id, gate, kind or code: an empty value filters nothing.
    let filter = json!({ "type": "string" });
    let states = |values: &[&str]| json!({ "enum": values });
    let mut q = match path {
        "/api/v1/owners" => vec![],
        "/api/v1/accounts" => vec![("owner_id", filter.clone(), false)],
        "/api/v1/vehicles" => {
            vec![("plate", plate(), false), ("owner_id", filter.clone(), false), ("account_id", filter.clone(), false)]
        }
        "/api/v1/tags" | "/api/v1/passes" => vec![("vehicle_id", filter.clone(), false)],
        "/api/v1/sessions" => vec![
            ("state", states(&["open", "closed"]), false),
            ("plate", plate(), false),
            ("credential_key", json!({ "type": "string", "examples": ["tag:E200301666130121155074EF"] }), false),
            ("settlement", states(&["account", "transfer", "pass", "free", "unpaid"]), false),
            ("from_ms", ms.clone(), false),
            ("to_ms", ms.clone(), false),
            (
                "q",
                json!({ "type": "string", "pattern": "^([^0-9A-Za-z]*[0-9A-Za-z]){2,64}[^0-9A-Za-z]*$", "maxLength": 200, "examples": ["30a-12"] }),
                false,
            ),
            ("gate", filter.clone(), false),
        ],
        "/api/v1/events" => vec![
            ("gate", filter.clone(), false),
            ("kind", states(&parking_core::wire::GateEventKind::NAMES), false),
            ("from_ms", ms.clone(), false),
            ("to_ms", ms, false),
        ],
        "/api/v1/exceptions" => vec![
            ("state", states(&["open", "resolved", "all"]), false),
            ("kind", filter.clone(), false),
            ("gate", filter.clone(), false),
        ],
        "/api/v1/transfers" => vec![
            ("state", states(&["all", "suspense", "matched", "resolved", "refunds"]), false),
            ("payment_code", filter.clone(), false),
        ],
        "/api/v1/payment-requests" => vec![("state", states(&["all", "owed", "paid"]), false), ("gate", filter, false)],
        "/api/v1/reports/revenue" => {
            return vec![
                ("from", date.clone(), true),
                ("to", date, true),
                ("lot", filter, false),
                ("class", class(), false),
                ("channel", states(&["account", "transfer", "pass", "free", "manual"]), false),
                ("format", states(&["json", "csv", "xlsx"]), false),
                ("lang", states(&["vi", "en"]), false),
            ];
        }
        "/api/v1/invoices" => {
            return vec![
                ("from", date.clone(), false),
                ("to", date, false),
                ("series", filter, false),
                ("limit", json!({ "type": "integer", "minimum": 1, "maximum": 1000 }), false),
            ];
        }
        "/api/v1/occupancy" => return vec![("date", date, false)],
        "/api/v1/accounts/{id}/top-up-qr" => {
            return vec![("amount_vnd", json!({ "type": "integer", "minimum": 1, "maximum": 1_000_000_000 }), true)];
        }
        "/api/v1/passes/price" => {
            return vec![
                ("class", class(), true),
                ("months", json!({ "type": "integer", "minimum": 1, "maximum": 12 }), true),
            ];
        }
        "/api/v1/close" => {
            let ms = json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": 4_102_444_800_000_i64 });
            return vec![("from_ms", ms.clone(), true), ("to_ms", ms, true)];
        }
        "/api/v1/qr.svg" => return vec![("text", json!({ "type": "string", "minLength": 1, "maxLength": 512 }), true)],
        "/api/v1/driver/accounts/{id}/top-up-qr" => {
            return vec![("amount_vnd", json!({ "type": "integer", "minimum": 1, "maximum": 1_000_000_000 }), true)];
        }
        "/api/v1/driver/passes/offer" => {
            let id = json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" });
            return vec![
                ("vehicle_id", id, true),
                ("months", json!({ "type": "integer", "minimum": 1, "maximum": 12 }), true),
            ];
        }
        "/api/v1/driver/stays" => {
            return vec![("limit", json!({ "type": "integer", "minimum": 1, "maximum": 100 }), false)];
        }
        "/api/v1/public/stay" => {
            let q = json!({ "type": "string", "minLength": 1, "maxLength": 128, "examples": ["30K-111.22"] });
            return vec![("q", q, true)];
        }
        "/api/v1/public/estimate" => {
            let minute = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$", "examples": ["2026-12-07T09:00"] });
            return vec![("class", class(), true), ("from", minute.clone(), true), ("to", minute, true)];
        }
        _ => return Vec::new(),
    };
    q.extend(page());
    q
}

/// A path parameter's shape: registry ids stay plain strings (an unknown
/// one is a 404, whatever it looks like).
pub(super) fn path_parameter(name: &str) -> Value {
    match name {
        "gate" => json!({ "type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,31}$" }),
        "username" => json!({ "type": "string", "pattern": "^[a-z0-9._-]{3,32}$" }),
        "number" => json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX }),
        "key" => json!({ "type": "string", "pattern": "^[0-9a-f]{32}$" }),
        "event_id" => json!({ "type": "string", "format": "uuid" }),
        _ => json!({ "type": "string" }),
    }
}
