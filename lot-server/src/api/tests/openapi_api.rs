//! The OpenAPI document and the router agree: every documented operation
//! is routed and guarded as documented; anonymous callers learn nothing of
//! what exists.

use axum::http::StatusCode;

use super::{Api, error_of};
use crate::api::openapi;
use crate::db::Db;

async fn documented_operations_are_routed(db: &Db) {
    let api = Api::new(db).await;
    let doc = openapi::build();
    for (method, path, _, roles, _) in openapi::OPERATIONS {
        let op = &doc["paths"][*path][*method];
        assert!(op.is_object(), "{method} {path} documented");
        // Every `{name}` of the path is a declared path parameter.
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        let in_path: Vec<&str> =
            path.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect();
        assert_eq!(declared, in_path, "{method} {path}: path parameters");
        let concrete = path.replace("{id}", "x1").replace("{epc}", "E200");
        let (s, v) = api.raw(&method.to_uppercase(), &concrete, None, None).await;
        if path.contains("/webhooks/") {
            // Verified by the provider's own key, not a token.
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}: {v}");
        } else if *roles == "none" && *method == "post" {
            // The dashboard's sign-in and sign-out: routed, no token needed.
            assert!(
                s != StatusCode::NOT_FOUND && s != StatusCode::UNAUTHORIZED && !s.is_server_error(),
                "{method} {path}: {s}"
            );
        } else if *roles == "none" && (path.contains("/public/stay") || path.contains("/public/estimate")) {
            // Public lookups: routed, no token needed; the query is missing.
            assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {path}: {v}");
        } else if *roles == "none" && path.contains("{key}") {
            // A receipt: routed, no token needed; no receipt has that key.
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}: {v}");
        } else if *roles == "none" {
            assert!(s == StatusCode::OK || s == StatusCode::SERVICE_UNAVAILABLE, "{method} {path}: {s}");
        } else {
            // Routed and guarded: refused for want of a token, not unknown.
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{method} {path}: {v}");
        }
    }
    let (s, v) = api.call("GET", "/api/v1/nothing-here", &api.admin, None).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::NOT_FOUND, "not_found"));
    // Anonymous callers learn nothing of what exists under /api/.
    for path in ["/api/sessions", "/api/v1/nothing-here"] {
        let (s, v) = api.raw("GET", path, None, None).await;
        assert_eq!((s, error_of(&v).0), (StatusCode::UNAUTHORIZED, "unauthorized"), "{path}");
    }
    let (s, v) = api.call("GET", "/openapi.json", &api.tax, None).await;
    assert_eq!((s, v["openapi"].as_str()), (StatusCode::OK, Some("3.1.0")));
    // The broker link is down in this test: not ready, and it says why.
    let (s, v) = api.raw("GET", "/health/ready", None, None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(error_of(&v).1.contains("MQTT broker not connected"), "{v}");
}
crate::on_both_databases!(api_documented_operations_are_routed, documented_operations_are_routed);
