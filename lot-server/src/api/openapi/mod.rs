//! The OpenAPI 3.1 document, served at `/openapi.json`. It is built from
//! one table of operations; a test calls every operation it lists and
//! checks the router knows it, so the two cannot drift apart.
//!
//! Layout: this file holds the operations and the responses; `schemas`
//! the request bodies' schemas; `params` the path and query parameters.

use axum::Json;
use serde_json::{Value, json};

mod params;
mod schemas;

use schemas::schemas;

/// `(method, path, summary, roles, request body schema)`.
pub(super) const OPERATIONS: &[(&str, &str, &str, &str, Option<&str>)] = &[
    ("get", "/health", "Liveness", "none", None),
    ("get", "/health/ready", "Readiness: database and broker reachable", "none", None),
    ("get", "/openapi.json", "This document", "any", None),
    ("get", "/metrics", "Prometheus metrics", "admin, operator", None),
    ("get", "/api/v1/me", "Who is calling: a person, or a machine's token", "any", None),
    ("get", "/api/v1/owners", "List owners (limit, offset)", "admin, operator", None),
    (
        "post",
        "/api/v1/owners",
        "Register an owner; the ID number is stored only as a salted hash",
        "admin, operator",
        Some("NewOwner"),
    ),
    ("get", "/api/v1/owners/{id}", "Read an owner", "admin, operator", None),
    ("put", "/api/v1/owners/{id}", "Replace an owner (id_number optional)", "admin, operator", Some("OwnerInput")),
    ("delete", "/api/v1/owners/{id}", "Delete an owner with no accounts or vehicles", "admin, operator", None),
    (
        "post",
        "/api/v1/owners/{id}/verify-id",
        "Check an ID number against the stored hash",
        "admin, operator",
        Some("IdNumber"),
    ),
    ("get", "/api/v1/accounts", "List accounts (owner_id, limit, offset)", "admin, operator", None),
    ("post", "/api/v1/accounts", "Open a prepaid account (balance 0)", "admin, operator", Some("AccountInput")),
    ("get", "/api/v1/accounts/{id}", "Read an account", "admin, operator", None),
    ("put", "/api/v1/accounts/{id}", "Change credit limit, state or owner", "admin, operator", Some("AccountInput")),
    ("delete", "/api/v1/accounts/{id}", "Close an account whose balance is zero", "admin, operator", None),
    ("post", "/api/v1/accounts/{id}/top-ups", "Add money to an account", "admin, operator", Some("TopUpInput")),
    (
        "get",
        "/api/v1/accounts/{id}/top-up-qr",
        "The VietQR that tops an account up (amount_vnd): the lot's bank account, the account's code as memo",
        "admin, operator",
        None,
    ),
    ("get", "/api/v1/vehicles", "List vehicles (plate, owner_id, account_id, limit, offset)", "admin, operator", None),
    ("post", "/api/v1/vehicles", "Register a vehicle", "admin, operator", Some("VehicleInput")),
    ("get", "/api/v1/vehicles/{id}", "Read a vehicle", "admin, operator", None),
    ("put", "/api/v1/vehicles/{id}", "Replace a vehicle", "admin, operator", Some("VehicleInput")),
    ("delete", "/api/v1/vehicles/{id}", "Delete a vehicle with no tags or passes", "admin, operator", None),
    ("get", "/api/v1/tags", "List tags (vehicle_id, limit, offset)", "admin, operator", None),
    ("post", "/api/v1/tags", "Bind a tag (EPC and TID) to a vehicle", "admin, operator", Some("TagInput")),
    ("get", "/api/v1/tags/{epc}", "Read a tag by EPC", "admin, operator", None),
    ("put", "/api/v1/tags/{epc}", "Replace a tag's binding or state", "admin, operator", Some("TagInput")),
    ("delete", "/api/v1/tags/{epc}", "Remove a tag", "admin, operator", None),
    ("get", "/api/v1/passes", "List monthly passes (vehicle_id, limit, offset)", "admin, operator", None),
    ("post", "/api/v1/passes", "Sell a monthly pass", "admin, operator", Some("PassInput")),
    (
        "post",
        "/api/v1/passes/sell",
        "Sell a monthly pass priced from the tariff in force, paid from an account (409 balance_short)",
        "admin, operator",
        Some("PassSale"),
    ),
    ("get", "/api/v1/passes/price", "What a pass costs now (class, months)", "admin, operator", None),
    (
        "post",
        "/api/v1/tags/{epc}/replace",
        "Replace a lost tag: the old one denied at once, the new one bound to the same vehicle",
        "admin, operator",
        Some("TagReplacement"),
    ),
    ("get", "/api/v1/passes/{id}", "Read a pass", "admin, operator", None),
    ("put", "/api/v1/passes/{id}", "Replace a pass", "admin, operator", Some("PassInput")),
    ("delete", "/api/v1/passes/{id}", "Delete a pass", "admin, operator", None),
    (
        "get",
        "/api/v1/sessions",
        "Search sessions (state, plate, credential_key, settlement, from_ms, to_ms, limit, offset)",
        "any",
        None,
    ),
    ("get", "/api/v1/sessions/{id}", "Read a session", "any", None),
    (
        "get",
        "/api/v1/close",
        "A shift's or a day's close (from_ms, to_ms): entries, exits, revenue by channel, manual opens, open \
         exceptions, invoices, who signed in",
        "any",
        None,
    ),
    (
        "get",
        "/api/v1/sessions/{id}/detail",
        "A stay whole: its gate events, its fee line by line, its payments and invoices",
        "any",
        None,
    ),
    ("get", "/api/v1/events", "The gate-event journal (gate, kind, from_ms, to_ms, limit, offset)", "any", None),
    ("get", "/api/v1/exceptions", "Exceptions (state=open|resolved|all, kind, gate, limit, offset)", "any", None),
    (
        "post",
        "/api/v1/exceptions/{id}/acknowledge",
        "Acknowledge an open exception: seen, on it",
        "admin, operator",
        None,
    ),
    (
        "post",
        "/api/v1/exceptions/{id}/resolve",
        "Resolve an exception with a note",
        "admin, operator",
        Some("Resolution"),
    ),
    ("get", "/api/v1/lists", "Lists version and sizes", "admin, operator", None),
    ("get", "/api/v1/lists/snapshot", "The lists as the controllers get them", "admin, operator", None),
    (
        "post",
        "/api/v1/webhooks/sepay",
        "SePay transfer notification (Authorization: Apikey, or X-SePay-Signature + X-SePay-Timestamp)",
        "none",
        Some("SepayNotification"),
    ),
    (
        "post",
        "/api/v1/webhooks/casso",
        "Casso v2 transfer notification (X-Casso-Signature: t=…,v1=…)",
        "none",
        Some("CassoNotification"),
    ),
    (
        "get",
        "/api/v1/transfers",
        "Transfers (state=all|suspense|matched|resolved|refunds, payment_code, limit, offset)",
        "any",
        None,
    ),
    ("get", "/api/v1/transfers/{id}", "Read a transfer", "any", None),
    (
        "post",
        "/api/v1/transfers/{id}/resolve",
        "Resolve a transfer in suspense: to a stay, to an account, or to refund",
        "admin, operator",
        Some("TransferResolution"),
    ),
    ("post", "/api/v1/transfers/{id}/refund-paid", "Record that a queued refund was sent", "admin", Some("RefundPaid")),
    (
        "get",
        "/api/v1/payment-requests",
        "What exit lanes asked to be paid (state=all|owed|paid, gate, limit, offset)",
        "any",
        None,
    ),
    ("get", "/api/v1/ledger", "Ledger balances by account; the total is zero", "any", None),
    (
        "get",
        "/api/v1/reports/revenue",
        "Revenue by day and month, class and channel, with the reconciliation (from, to, lot, class, channel, \
         format=json|csv|xlsx)",
        "any",
        None,
    ),
    ("get", "/api/v1/invoices", "Issued invoices and their delivery (from, to, series, limit)", "any", None),
    ("get", "/api/v1/invoices/{series}/{number}", "An invoice's TDiep XML", "any", None),
    ("get", "/api/v1/journal/verify", "Verify the tamper-evident journal against the lot's public key", "any", None),
    ("get", "/api/v1/tokens", "List API tokens (never the tokens themselves)", "admin", None),
    ("post", "/api/v1/tokens", "Create a token; it is shown once", "admin", Some("TokenRequest")),
    ("delete", "/api/v1/tokens/{id}", "Revoke a token", "admin", None),
    ("get", "/api/v1/users", "People's accounts (never a password)", "admin", None),
    (
        "post",
        "/api/v1/users",
        "Create an account; without a password one is generated, shown once",
        "admin",
        Some("NewUser"),
    ),
    ("post", "/api/v1/users/{username}/disable", "Disable an account; its sessions end", "admin", None),
    ("post", "/api/v1/users/{username}/enable", "Enable a disabled account", "admin", None),
    (
        "post",
        "/api/v1/users/{username}/password",
        "Set a new password (generated unless given, shown once); the account's sessions end",
        "admin",
        Some("NewPassword"),
    ),
    (
        "post",
        "/api/v1/login",
        "Sign in with a username and a password (or a machine's token): an HttpOnly session cookie",
        "none",
        Some("Login"),
    ),
    ("post", "/api/v1/logout", "Sign out: the session ends at the server, the cookie is cleared", "none", None),
    ("get", "/api/v1/live", "The live gate board as server-sent events: a snapshot, then each change", "any", None),
    ("get", "/api/v1/gates", "Every lane now: online, barrier, last read and decision, who waits to pay", "any", None),
    ("get", "/api/v1/occupancy", "Vehicles inside now and at each hour of a local day, by class (date)", "any", None),
    ("get", "/api/v1/qr.svg", "A QR code as SVG (text), e.g. the VietQR a lane shows", "any", None),
    (
        "post",
        "/api/v1/gates/{gate}/open",
        "Open a lane's barrier by hand: a reason and a note, journaled with the operator",
        "admin, operator",
        Some("ManualOpen"),
    ),
];

fn operation(method: &str, path: &str, summary: &str, roles: &str, body: Option<&str>) -> Value {
    let error = json!({ "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let mut responses = json!({
        "200": { "description": "OK" },
        "400": { "description": "Malformed request", "content": error["content"] },
    });
    let mut add = |status: &str, description: &str| {
        responses[status] = if status.starts_with('2') {
            json!({ "description": description })
        } else {
            json!({ "description": description, "content": error["content"] })
        };
    };
    let answers_200 = ["verify-id", "resolve", "refund-paid", "sepay", "casso", "login", "password", "replace"];
    if method == "post" && body.is_some() && !answers_200.iter().any(|end| path.ends_with(end)) {
        add("201", "Created");
    }
    if method == "delete" || path.ends_with("logout") {
        add("204", "Done; nothing to return");
    }
    if path.ends_with("/open") {
        add("202", "The command is on its way to the lane");
    }
    if path.contains('{') {
        add("404", "Not found");
    }
    if path.ends_with("/passes/sell") {
        add("404", "The vehicle or the account does not exist");
    }
    if path.ends_with("/journal/verify") {
        add("404", "The journal is not sealed here ([tax] journal_key is not set)");
    }
    if body.is_some() {
        add("413", "The body is over the size limit");
        add("415", "The body is not JSON");
    }
    if method != "get" && path.starts_with("/api/v1/") {
        add("409", "Conflicts with what is stored (a duplicate, or a record still in use)");
    }
    if path.contains("/webhooks/") || path.ends_with("/login") {
        add("401", "Not signed, badly signed, out of its time window, or an unknown token");
    }
    if path.ends_with("/login") {
        add("429", "Too many requests from this address, or the username is locked out: see Retry-After");
    } else if path.contains("/webhooks/") || path.ends_with("/logout") {
        add("429", "Too many requests from this address: see Retry-After");
    }
    if path == "/health/ready" {
        add("503", "The database or the broker is not reachable");
    }
    let mut op = json!({ "summary": summary, "description": format!("Roles: {roles}."), "responses": responses });
    if roles == "none" {
        op["security"] = json!([]);
    } else {
        op["responses"]["401"] =
            json!({ "description": "Missing, unknown or revoked token", "content": error["content"] });
        op["responses"]["403"] =
            json!({ "description": "The token's role may not do this", "content": error["content"] });
    }
    if let Some(schema) = body {
        op["requestBody"] = json!({
            "required": true,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } }
        });
    }
    let mut parameters: Vec<Value> = path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(
            |(name, _)| json!({ "name": name, "in": "path", "required": true, "schema": params::path_parameter(name) }),
        )
        .collect();
    for (name, schema, required) in params::query(method, path) {
        parameters.push(json!({ "name": name, "in": "query", "required": required, "schema": schema }));
    }
    if !parameters.is_empty() {
        op["parameters"] = json!(parameters);
    }
    op
}

/// The document.
pub(super) fn build() -> Value {
    let mut paths = serde_json::Map::new();
    for (method, path, summary, roles, body) in OPERATIONS {
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = operation(method, path, summary, roles, *body);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Lot server API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Cashless parking lot server: registry, sessions, exceptions, lists. \
                            Every route but /health needs `Authorization: Bearer <token>` \
                            (make one with `lot-server token create --role admin`) or the session \
                            cookie of `POST /api/v1/login`."
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(),
        },
        "security": [{ "bearer": [] }],
        "paths": paths,
    })
}

/// The document, its `servers` naming where it was asked for: `/` or a
/// lot's `/lots/{lot}` on a server of many lots.
pub(super) async fn document(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    uri: axum::extract::OriginalUri,
) -> Json<Value> {
    let mut doc = build();
    let base = if uri.path().starts_with("/lots/") { format!("/lots/{}", state.0.lot) } else { "/".to_owned() };
    doc["servers"] = json!([{ "url": base, "description": format!("lot {}", state.0.lot) }]);
    Json(doc)
}
