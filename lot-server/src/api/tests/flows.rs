//! Whole flows through the API: the registry driving the lists, and
//! ingested events read back as sessions, journal, exceptions and metrics.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Api, error_of};
use crate::db::Db;

async fn registry_round_trip_drives_the_lists(db: &Db) {
    let api = Api::new(db).await;
    let owner =
        api.ok("POST", "/api/v1/owners", Some(json!({ "name": "Nguyễn Văn A", "id_number": "001099012345" }))).await;
    let owner_id = owner["owner_id"].as_str().unwrap().to_owned();
    assert!(owner.get("id_number").is_none() && owner.get("id_hash").is_none(), "{owner}");
    let stored: String = sqlx::query_scalar("SELECT id_hash FROM owners").fetch_one(&db.pool).await.unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains("001099012345"), "{stored}");
    let verify = |n: &str| json!({ "id_number": n });
    let path = format!("/api/v1/owners/{owner_id}/verify-id");
    assert_eq!(api.ok("POST", &path, Some(verify("001 099 012 345"))).await["matches"], json!(true));
    assert_eq!(api.ok("POST", &path, Some(verify("001099012346"))).await["matches"], json!(false));

    let account = api.ok("POST", "/api/v1/accounts", Some(json!({ "owner_id": owner_id }))).await;
    let account_id = account["account_id"].as_str().unwrap().to_owned();
    assert_eq!(account["balance_vnd"], json!(0));
    let vehicle = api
        .ok(
            "POST",
            "/api/v1/vehicles",
            Some(json!({ "plate": "29a 123.45", "class": "car", "owner_id": owner_id, "account_id": account_id })),
        )
        .await;
    let vehicle_id = vehicle["vehicle_id"].as_str().unwrap().to_owned();
    assert_eq!(vehicle["plate"], json!("29A-123.45"));
    let epc = "E2801160600002040C4B5F11";
    let tag = api
        .ok(
            "POST",
            "/api/v1/tags",
            Some(json!({ "epc": epc.to_lowercase(), "tid": "E2801160200074CF", "vehicle_id": vehicle_id })),
        )
        .await;
    assert_eq!(tag["epc"], json!(epc));

    // Balance 0: the tag is allowed but pays by transfer (nothing to spend);
    // its account stays on the entry, so a block of it would still refuse it.
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    assert_eq!(snap["tags"].as_array().unwrap().len(), 1, "{snap}");
    assert_eq!(snap["tags"][0]["epc"], json!(epc));
    assert_eq!(snap["tags"][0]["plate"], json!("29A-123.45"));
    assert_eq!((&snap["tags"][0]["account"], &snap["tags"][0]["spendable"]), (&json!(account_id), &json!(0)), "{snap}");
    let v1 = snap["version"].as_u64().unwrap();

    let topped = api
        .ok(
            "POST",
            &format!("/api/v1/accounts/{account_id}/top-ups"),
            Some(json!({ "amount_vnd": 200000, "reference": "FT123" })),
        )
        .await;
    assert_eq!(topped["balance_vnd"], json!(200_000));
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    assert_eq!(snap["tags"][0]["account"], json!(account_id));
    assert!(snap["version"].as_u64().unwrap() > v1);

    // Reported stolen: its tag and plate are denied.
    let stolen = json!({ "plate": "29A12345", "class": "car", "owner_id": owner_id, "account_id": account_id, "state": "stolen" });
    api.ok("PUT", &format!("/api/v1/vehicles/{vehicle_id}"), Some(stolen)).await;
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    let deny: Vec<&Value> = snap["deny"].as_array().unwrap().iter().collect();
    assert!(
        deny.iter().any(|d| d["target"] == json!({ "kind": "epc", "value": epc }) && d["reason"] == "stolen_vehicle")
    );
    assert!(deny.iter().any(|d| d["target"] == json!({ "kind": "plate", "value": "29A-123.45" })));
    let summary = api.ok("GET", "/api/v1/lists", None).await;
    assert_eq!((summary["tags"].as_u64(), summary["deny"].as_u64()), (Some(1), Some(2)));

    // A pass names the vehicle's active tag.
    let pass = api
        .ok(
            "POST",
            "/api/v1/passes",
            Some(json!({ "vehicle_id": vehicle_id, "valid_from": "2026-11-01", "valid_until": "2026-11-30", "price_vnd": 1200000 })),
        )
        .await;
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    assert_eq!(snap["passes"][0]["pass"], pass["pass_id"]);
    assert_eq!(snap["passes"][0]["epc"], json!(epc));
    assert_eq!(snap["passes"][0]["valid_until"], json!("2026-11-30"));

    // Reads and searches.
    assert_eq!(
        api.ok("GET", &format!("/api/v1/tags/{}", epc.to_lowercase()), None).await["vehicle_id"],
        json!(vehicle_id)
    );
    let found = api.ok("GET", "/api/v1/vehicles?plate=29A-12345", None).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(api.ok("GET", "/api/v1/vehicles?plate=30A12345", None).await, json!([]));
    assert_eq!(
        api.ok("GET", &format!("/api/v1/tags?vehicle_id={vehicle_id}"), None).await.as_array().unwrap().len(),
        1
    );

    // Conflicts: a second vehicle with the plate, deleting what is in use.
    let (s, v) = api
        .call("POST", "/api/v1/vehicles", &api.operator, Some(json!({ "plate": "29A-123.45", "class": "car" })))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    let (s, _) = api.call("DELETE", &format!("/api/v1/vehicles/{vehicle_id}"), &api.operator, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, v) = api.call("DELETE", &format!("/api/v1/accounts/{account_id}"), &api.operator, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(error_of(&v).1.contains("200000 đồng"), "{v}");
    let mismatch = json!({ "epc": "E200", "vehicle_id": vehicle_id });
    let (s, _) = api.call("PUT", &format!("/api/v1/tags/{epc}"), &api.operator, Some(mismatch)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Deleting the tag and the pass empties the allow list.
    let pass_id = pass["pass_id"].as_str().unwrap();
    assert_eq!(
        api.call("DELETE", &format!("/api/v1/passes/{pass_id}"), &api.operator, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.call("DELETE", &format!("/api/v1/tags/{epc}"), &api.operator, None).await.0, StatusCode::NO_CONTENT);
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    assert_eq!((snap["tags"].as_array().unwrap().len(), snap["passes"].as_array().unwrap().len()), (0, 0));
    // The plate stays denied while the vehicle is stolen; deleting it lifts that.
    assert_eq!(
        api.call("DELETE", &format!("/api/v1/vehicles/{vehicle_id}"), &api.operator, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(api.ok("GET", "/api/v1/lists/snapshot", None).await["deny"], json!([]));
    assert_eq!(
        api.call("GET", &format!("/api/v1/vehicles/{vehicle_id}"), &api.operator, None).await.0,
        StatusCode::NOT_FOUND
    );
    let _ = &api.db;
}
crate::on_both_databases!(api_registry_round_trip_drives_the_lists, registry_round_trip_drives_the_lists);

fn wire_event(n: u64, gate: &str, at: &str, kind: Value) -> parking_core::wire::GateEvent {
    let mut e = json!({
        "v": 1,
        "event_id": uuid::Uuid::from_u64_pair(9, n).to_string(),
        "lot": "api-lot",
        "gate": gate,
        "seq": n,
        "at": format!("2026-11-22T{at}+07:00"),
        "list_version": 1,
    });
    for (k, v) in kind.as_object().unwrap() {
        e[k] = v.clone();
    }
    serde_json::from_value(e).unwrap()
}

async fn sessions_events_and_exceptions(db: &Db) {
    let api = Api::new(db).await;
    let code = parking_core::PaymentCode::stay(4242);
    let vehicle = api.ok("POST", "/api/v1/vehicles", Some(json!({ "plate": "29A-123.45", "class": "car" }))).await;
    let bound =
        json!({ "epc": "E2000000000000000000000B", "tid": "E2801160200074CF", "vehicle_id": vehicle["vehicle_id"] });
    api.ok("POST", "/api/v1/tags", Some(bound)).await;
    let tag = |epc: &str, tid: Option<&str>| match tid {
        Some(t) => json!({ "kind": "tag", "epc": epc, "tid": t }),
        None => json!({ "kind": "tag", "epc": epc }),
    };
    let events = vec![
        wire_event(
            1,
            "entry-1",
            "08:00:00",
            json!({ "type": "entry", "credential": tag("E2000000000000000000000A", None), "class": "car", "plate": "29A-123.45" }),
        ),
        // Registered with another TID: a clone, whatever the gate decided.
        wire_event(
            2,
            "entry-1",
            "08:05:00",
            json!({ "type": "entry", "credential": tag("E2000000000000000000000B", Some("E2801160200099FF")), "class": "car" }),
        ),
        wire_event(
            3,
            "exit-1",
            "09:00:00",
            json!({ "type": "exit", "credential": tag("E2000000000000000000000C", None), "class": "motorbike", "settlement": { "kind": "unpaid", "owed": 0 } }),
        ),
        wire_event(
            4,
            "exit-1",
            "09:10:00",
            json!({ "type": "manual_open", "operator": "op-1", "reason": "equipment_fault", "note": "arm stuck" }),
        ),
        // Car A at the exit, asked to pay under a code.
        wire_event(
            5,
            "exit-1",
            "09:20:00",
            json!({ "type": "payment_requested", "credential": tag("E2000000000000000000000A", None), "class": "car",
                    "entered_at": "2026-11-22T08:00:00+07:00", "payment_code": code.as_str(), "owed": 25_000,
                    "fee": { "amount": 25_000, "tariff_version": "hn-z1-2018-example", "class": "car", "items": [] } }),
        ),
    ];
    crate::ingest::commit(
        db,
        &crate::settlement::Policy::from_tax(&Default::default()).unwrap(),
        &events,
        events[0].at,
    )
    .await
    .unwrap();

    let open = api.call("GET", "/api/v1/sessions?state=open", &api.tax, None).await.1;
    assert_eq!(open.as_array().unwrap().len(), 2, "{open}");
    let by_plate = api.ok("GET", "/api/v1/sessions?plate=29a12345", None).await;
    assert_eq!(by_plate.as_array().unwrap().len(), 1);
    assert_eq!(by_plate[0]["credential"]["epc"], json!("E2000000000000000000000A"));
    let id = by_plate[0]["session_id"].as_str().unwrap();
    assert_eq!(api.ok("GET", &format!("/api/v1/sessions/{id}"), None).await["entry_gate"], json!("entry-1"));
    // Part of a plate or a tag, in any case, with or without separators.
    let found = |q: &str| {
        let q = q.to_owned();
        let api = &api;
        async move {
            let v = api.ok("GET", &format!("/api/v1/sessions?q={q}"), None).await;
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s["credential"]["epc"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("29a-123").await, ["E2000000000000000000000A"]);
    assert_eq!(found("29A").await, ["E2000000000000000000000A"]);
    assert_eq!(found("30A").await, Vec::<String>::new());
    assert_eq!(found("000000000b").await, ["E2000000000000000000000B"]);
    assert_eq!(found("E200").await.len(), 3);
    assert_eq!(found(&code.as_str()[2..].to_lowercase()).await, ["E2000000000000000000000A"], "by payment code");
    let (s, v) = api.call("GET", "/api/v1/sessions?q=x", &api.operator, None).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "bad_request"));
    let (s, v) = api.call("GET", "/api/v1/sessions?q=%25%25", &api.operator, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a wildcard is not a search: {v}");
    let by_lane = api.ok("GET", "/api/v1/sessions?gate=exit-1", None).await;
    assert_eq!(by_lane.as_array().unwrap().len(), 1, "{by_lane}");
    let open_a = api.ok("GET", "/api/v1/sessions?q=29a&state=open&gate=entry-1&limit=1&offset=0", None).await;
    assert_eq!(open_a.as_array().unwrap().len(), 1);
    let window = api.ok("GET", "/api/v1/sessions?from_ms=0&to_ms=1", None).await;
    assert_eq!(window, json!([]));
    let entries = api.call("GET", "/api/v1/events?kind=entry", &api.tax, None).await.1;
    assert_eq!(entries.as_array().unwrap().len(), 2);
    assert_eq!(entries[0]["event"]["type"], json!("entry"));

    let open_x = api.ok("GET", "/api/v1/exceptions", None).await;
    let kinds: Vec<&str> = open_x.as_array().unwrap().iter().filter_map(|x| x["kind"].as_str()).collect();
    for k in ["cloned_tag", "exit_without_entry", "manual_open"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let clone = open_x.as_array().unwrap().iter().find(|x| x["kind"] == "cloned_tag").unwrap();
    assert!(clone["detail"].as_str().unwrap().contains("E2801160200074CF"), "{clone}");
    let orphan = open_x.as_array().unwrap().iter().find(|x| x["kind"] == "exit_without_entry").unwrap();
    let path = format!("/api/v1/exceptions/{}/resolve", orphan["exception_id"].as_str().unwrap());
    let (s, v) = api.call("POST", &path, &api.operator, Some(json!({ "note": " " }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let done = api.ok("POST", &path, Some(json!({ "note": "motorbike entered while the reader was down" }))).await;
    assert_eq!(done["state"], json!("resolved"));
    assert!(done["resolved_by"].as_str().unwrap().contains("test operator"), "{done}");
    assert_eq!(api.call("POST", &path, &api.operator, Some(json!({ "note": "again" }))).await.0, StatusCode::CONFLICT);
    let resolved = api.ok("GET", "/api/v1/exceptions?state=resolved", None).await;
    assert_eq!(resolved.as_array().unwrap().len(), 1);
    // Acknowledged first (seen, someone is on it), then resolved; a tax
    // officer does neither.
    let clone_ack = format!("/api/v1/exceptions/{}/acknowledge", clone["exception_id"].as_str().unwrap());
    assert_eq!(api.call("POST", &clone_ack, &api.tax, None).await.0, StatusCode::FORBIDDEN);
    let seen = api.ok("POST", &clone_ack, None).await;
    assert_eq!(seen["state"], json!("acknowledged"));
    assert!(seen["acknowledged_by"].as_str().unwrap().contains("test operator"), "{seen}");
    assert_eq!(api.call("POST", &clone_ack, &api.operator, None).await.0, StatusCode::CONFLICT);
    let unresolved = api.ok("GET", "/api/v1/exceptions?state=unresolved", None).await;
    assert!(unresolved.as_array().unwrap().iter().any(|x| x["state"] == "acknowledged"), "{unresolved}");
    assert!(unresolved.as_array().unwrap().iter().all(|x| x["state"] != "resolved"), "{unresolved}");
    assert_eq!(api.ok("GET", "/api/v1/exceptions?state=acknowledged", None).await.as_array().unwrap().len(), 1);
    let clone_fix = format!("/api/v1/exceptions/{}/resolve", clone["exception_id"].as_str().unwrap());
    let fixed = api.ok("POST", &clone_fix, Some(json!({ "note": "tag blocked, owner called" }))).await;
    assert_eq!(fixed["state"], json!("resolved"));

    let (s, body) = api.call("GET", "/metrics", &api.operator, None).await;
    assert_eq!(s, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(text.contains("parking_server_open_sessions 2"), "{text}");
    assert!(text.contains("parking_server_ingest_commit_seconds_bucket"), "{text}");
    assert!(
        text.contains("parking_server_http_requests_total{method=\"GET\",route=\"/api/v1/sessions\",status=\"200\"}")
    );
    assert!(
        text.contains(
            "parking_server_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/sessions\",status=\"200\"}"
        ),
        "{text}"
    );
    assert_eq!(api.call("GET", "/metrics", &api.tax, None).await.0, StatusCode::FORBIDDEN);
}
crate::on_both_databases!(api_sessions_events_and_exceptions, sessions_events_and_exceptions);
