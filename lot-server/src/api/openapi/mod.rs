//! The OpenAPI 3.1 document, served at `/openapi.json`. It is built from
//! one table of operations; a test calls every operation it lists and
//! checks the router knows it, so the two cannot drift apart.
//!
//! Layout: this file holds the responses and the document; `operations`
//! the table of operations; `schemas` the request bodies' schemas;
//! `params` the path and query parameters.

use axum::Json;
use serde_json::{Value, json};

mod operations;
mod params;
mod schemas;

pub(super) use operations::OPERATIONS;

use schemas::schemas;

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
    if path.ends_with("/driver/link") {
        add("401", "The link is unknown, used or expired");
        add("429", "Too many requests from this address: see Retry-After");
    }
    if path.contains("/webhooks/") || path.ends_with("/login") {
        add("401", "Not signed, badly signed, out of its time window, or an unknown token");
    }
    if path.ends_with("/login") {
        add("429", "Too many requests from this address, or the username is locked out: see Retry-After");
    } else if path.contains("/webhooks/") || path.ends_with("/logout") {
        add("429", "Too many requests from this address: see Retry-After");
    }
    if path.starts_with("/api/v1/public/") || path.starts_with("/receipt/") {
        add("429", "Too many requests from this address: see Retry-After");
    }
    if path.ends_with("/public/stay") {
        add("404", "No vehicle is inside with that ticket, code or plate");
        add("503", "No tariff is in force: the fee cannot be worked out");
    }
    if path.ends_with("/public/estimate") {
        add("404", "No tariff is in force on that day");
    }
    if path == "/health/ready" {
        add("503", "The database or the broker is not reachable");
    }
    if path == "/api/v1/photos/{event_id}" {
        let image = json!({ "type": "string", "format": "binary" });
        responses["200"] = json!({ "description": "The photo", "content": { "image/jpeg": { "schema": image }, "image/png": { "schema": image } } });
    }
    if path == "/receipt/{key}" {
        // A page, found or not.
        let html = json!({ "text/html": { "schema": { "type": "string" } } });
        responses["200"] = json!({ "description": "The receipt", "content": html });
        responses["404"] = json!({ "description": "No receipt has this link", "content": html });
    }
    let mut op = json!({ "summary": summary, "description": format!("Roles: {roles}."), "responses": responses });
    if roles == "none" {
        op["security"] = json!([]);
    } else if roles == "driver" {
        op["security"] = json!([{ "driver_cookie": [] }]);
        op["responses"]["401"] = json!({ "description": "Not signed in as a driver", "content": error["content"] });
        op["responses"]["403"] = json!({ "description": "Not a driver's session", "content": error["content"] });
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
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" },
                "driver_cookie": { "type": "apiKey", "in": "cookie", "name": "parking_driver" }
            },
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
