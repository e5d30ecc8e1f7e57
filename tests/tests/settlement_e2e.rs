//! Settlement end to end, across processes, on a real broker: a lot server
//! and a controller on Mosquitto, and a simulated bank that pays by signed
//! SePay webhook. A tag without an account leaves: the exit lane shows a
//! VietQR; the driver's bank app decodes it and pays too little; the lane
//! shows the rest; the driver pays the rest; the barrier opens; the stay is
//! closed as paid by transfer and the books balance.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use hmac::{Hmac, Mac};
use parking_core::vietqr::VietQr;
use parking_core::wire::{BarrierCommand, DisplayMsg};
use parking_tests::bins::{self, api, http_with};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::{Broker, free_port};
use parking_tests::mqtt::{client, subscribed, tag_read};
use parking_tests::wait;
use rumqttc::{Event, Packet, QoS};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

const LOT: &str = "pay-lot";
const HMAC_KEY: &str = "e2e-sepay-hmac-secret";
const JOURNAL_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

/// The example tariff without its grace: a stay of seconds costs 50,000.
const TARIFF: &str = include_str!("../fixtures/no-grace-tariff.toml");

/// The simulated bank: a SePay notification for a transfer, signed.
async fn bank_pays(port: u16, id: u64, amount: i64, memo: &str) -> (u16, Value) {
    let body = json!({
        "id": id, "gateway": "Vietcombank", "transactionDate": "2026-11-23 10:15:00",
        "accountNumber": "0011012345678", "code": null, "content": memo, "transferType": "in",
        "transferAmount": amount, "accumulated": 0, "referenceCode": format!("FT{id}"), "description": memo,
    })
    .to_string();
    let ts = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_KEY.as_bytes()).unwrap();
    mac.update(format!("{ts}.{body}").as_bytes());
    let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let headers = [("X-SePay-Signature", sig.as_str()), ("X-SePay-Timestamp", ts.as_str())];
    let (status, text) = http_with(port, "POST", "/api/v1/webhooks/sepay", &headers, Some(&body)).await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// What the exit lane shows and does, as a device on the lane sees it.
enum Lane {
    Display(DisplayMsg),
    Barrier(BarrierCommand),
}

async fn next_display(rx: &mut mpsc::Receiver<Lane>) -> DisplayMsg {
    loop {
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("the lane shows something") {
            Some(Lane::Display(d)) if d.vietqr.is_some() => return d,
            Some(Lane::Barrier(b)) => panic!("the barrier opened before payment: {b:?}"),
            Some(_) => {}
            None => panic!("lane watcher ended"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn an_exit_lane_opens_when_the_bank_transfer_arrives() {
    let broker = Broker::start().expect("start mosquitto");
    let (dir, lot) = bins::test_dir_with_tariff("pay", LOT, TARIFF).unwrap();
    let (http_port, metrics_port) = (free_port(), free_port());
    let server_cfg = dir.join("lot-server.toml");
    let extra = format!(
        "[settlement]\nsepay_hmac_secret = \"{HMAC_KEY}\"\n[tax]\njournal_key = \"{JOURNAL_SEED}\"\n\
         [invoice]\nseller_name = \"Bãi xe thử\"\nseller_address = \"Hà Nội\"\nseller_tax_code = \"0100000000\"\n\
         drop_dir = \"{}\"\n",
        dir.join("invoices").display()
    );
    std::fs::write(&server_cfg, bins::server_toml(&lot, broker.port, http_port, &dir, &extra)).unwrap();
    let token = bins::token(&server_cfg, "operator").unwrap();
    let log = dir.join("lot-server.log");
    eprintln!("logs in {}", dir.display());
    let mut server = bins::start_server(&server_cfg, &log, http_port).await.unwrap();

    // A car with a tag and no account: it pays by transfer.
    let vehicle =
        api(http_port, "POST", "/api/v1/vehicles", &token, Some(json!({ "plate": "30E-555.55", "class": "car" })))
            .await;
    api(
        http_port,
        "POST",
        "/api/v1/tags",
        &token,
        Some(json!({ "epc": epc_text(7), "vehicle_id": vehicle["vehicle_id"] })),
    )
    .await;
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();

    let ctl_cfg = dir.join("controller.toml");
    let controller = bins::controller_toml(
        LOT,
        broker.port,
        "ctl-pay",
        &dir.join("journal.sqlite"),
        metrics_port,
        "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\naccount_name = \"BAI DO XE\"\n",
        "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n",
    );
    let controller = controller.replace(&bins::lot_toml(LOT), &lot);
    std::fs::write(&ctl_cfg, controller).unwrap();
    let mut ctl = bins::start_logged("controller", &ctl_cfg, &dir.join("controller.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller took the lists v{version}");

    // The exit lane's display and barrier, as its devices see them.
    let (watch, mut watch_loop) = client(broker.port, "e2e-lane-devices", true);
    let (lane_tx, mut lane) = mpsc::channel(64);
    let filters: Vec<String> =
        ["display", "barrier"].iter().map(|t| format!("parking/{LOT}/gate/exit-1/{t}")).collect();
    let early = subscribed(&watch, &mut watch_loop, &filters).await;
    let as_lane = |p: rumqttc::Publish| {
        if p.topic.ends_with("/display") {
            serde_json::from_slice(&p.payload).ok().map(Lane::Display)
        } else {
            serde_json::from_slice(&p.payload).ok().map(Lane::Barrier)
        }
    };
    for m in early.into_iter().filter_map(as_lane) {
        lane_tx.send(m).await.unwrap();
    }
    tokio::spawn(async move {
        loop {
            match watch_loop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Some(m) = as_lane(p) {
                        if lane_tx.send(m).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let (reads, mut reads_loop) = client(broker.port, "e2e-reader", true);
    tokio::spawn(async move {
        loop {
            if reads_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let read = |gate: &str| tag_read(gate, 7, 3).unwrap();
    reads.publish(format!("parking/{LOT}/gate/entry-1/read"), QoS::AtLeastOnce, false, read("entry-1")).await.unwrap();
    wait::until(15, "the entry recorded as an open stay", || async {
        api(http_port, "GET", "/api/v1/sessions?state=open", &token, None)
            .await
            .as_array()
            .is_some_and(|a| a.len() == 1)
    })
    .await;
    // The stay: stays are whole seconds, and one of no time at all is free.
    wait::hold(Duration::from_millis(1_500)).await;
    reads.publish(format!("parking/{LOT}/gate/exit-1/read"), QoS::AtLeastOnce, false, read("exit-1")).await.unwrap();

    // The lane shows a dynamic VietQR for the fee, with the stay's code.
    let shown = next_display(&mut lane).await;
    let qr = VietQr::decode(shown.vietqr.as_deref().unwrap()).expect("a valid VietQR");
    assert_eq!((qr.bin.as_str(), qr.account.as_str()), ("970403", "0011012345678"));
    assert_eq!(qr.amount.map(|a| a.get()), Some(50_000));
    let memo = qr.memo.clone().expect("the code travels in the memo");

    // The driver's bank app pays 20,000 of it, memo upper-cased and wrapped.
    // It may beat the lane's payment request to the server (the display
    // and the event race through the broker): then it is held and applied
    // when the request lands. Either way the lane learns what is left.
    let (s, v) = bank_pays(http_port, 1, 20_000, &format!("MBVCB.88123.{}.CT", memo.to_uppercase())).await;
    assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");
    assert!(v["outcome"] == json!("partial") || v["outcome"] == json!("held"), "{v}");
    let rest = next_display(&mut lane).await;
    assert_eq!(rest.amount.map(|a| a.get()), Some(30_000), "the lane shows what is still owed: {rest:?}");
    let rest_qr = VietQr::decode(rest.vietqr.as_deref().unwrap()).unwrap();
    assert_eq!(rest_qr.amount.map(|a| a.get()), Some(30_000));

    // The bank notifies twice; then the rest arrives and the barrier opens.
    let (s, v) = bank_pays(http_port, 1, 20_000, &memo).await;
    assert_eq!((s, &v["outcome"]), (200, &json!("duplicate")));
    let (s, v) = bank_pays(http_port, 2, 30_000, &format!("thanh toan {memo}")).await;
    assert_eq!((s, &v["outcome"]), (200, &json!("settled")), "{v}");
    // The barrier opens and, as the car leaves, the lane shows the link of
    // its receipt as a QR code (the pulse waits for the journal; the
    // display does not, so either may come first).
    let (mut opened, mut receipt) = (None, None);
    while opened.is_none() || receipt.is_none() {
        match tokio::time::timeout(Duration::from_secs(15), lane.recv())
            .await
            .expect("the barrier opens, the receipt shows")
        {
            Some(Lane::Barrier(b)) => opened = Some(b),
            Some(Lane::Display(d)) if d.receipt.is_some() => receipt = d.receipt,
            Some(_) => {}
            None => panic!("lane watcher ended"),
        }
    }
    assert!(opened.is_some_and(|b| b.pulse_ms > 0));
    let receipt = receipt.unwrap_or_default();
    assert!(receipt.starts_with(&format!("/lots/{LOT}/receipt/")), "{receipt}");

    // The server closes the stay as paid by transfer; the books balance.
    let closed = bins::closed_sessions(http_port, &token, 1).await[0].clone();
    assert_eq!(closed["settlement"], json!("transfer"), "{closed}");
    assert_eq!(closed["fee_vnd"], json!(50_000), "{closed}");
    let ledger = api(http_port, "GET", "/api/v1/ledger", &token, None).await;
    assert_eq!((ledger["total"].as_i64(), ledger["fees_settled_vnd"].as_i64()), (Some(0), Some(50_000)), "{ledger}");
    assert_eq!(ledger["balances"]["bank"], json!(50_000));
    let exceptions = api(http_port, "GET", "/api/v1/exceptions?kind=unsettled_exit", &token, None).await;
    assert_eq!(exceptions.as_array().map(Vec::len), Some(0), "{exceptions}");

    // Tax: the running server issues the stay's invoice and the file-drop
    // sink delivers its XML.
    let drop_dir = dir.join("invoices");
    let mut xml = String::new();
    for _ in 0..100 {
        let files: Vec<_> = std::fs::read_dir(&drop_dir).into_iter().flatten().flatten().collect();
        if let Some(f) = files.iter().find(|f| f.file_name().to_string_lossy().ends_with(".xml")) {
            xml = std::fs::read_to_string(f.path()).unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(xml.contains("<TgTTTBSo>50000</TgTTTBSo>") && xml.contains("<SHDon>1</SHDon>"), "{xml}");
    // The link the lane showed opens that invoice's receipt, with no token.
    let page = bins::http_get(http_port, &receipt).await.expect("the receipt page");
    assert!(page.contains("50.000 đ") && page.contains("Hóa đơn giá trị gia tăng"), "{page}");
    // The report from the command line, beside the running server.
    let today = parking_runtime::Clock::wall().now().local_date().to_string();
    let out = bins::command("lot-server")
        .args(["report", "--from", &today, "--to", &today, "--format", "csv", "--config"])
        .arg(&server_cfg)
        .output()
        .unwrap();
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(csv.lines().any(|l| l.starts_with("total,") && l.contains(",1,1,0,46296,3704,50000,")), "{csv}");
    // The journal, sealed, exported and checked by the independent verifier.
    let run = |args: &[&str]| {
        let out = bins::command("lot-server").args(args).arg("--config").arg(&server_cfg).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    wait::until(15, "the journal chained to its end", || async {
        run(&["ledger", "verify"]).contains("\"pending\":0")
    })
    .await;
    run(&["ledger", "seal", "--day", &today]);
    let public = run(&["ledger", "public-key"]);
    let exported = dir.join("journal.jsonl");
    run(&["ledger", "export", "--out", exported.to_str().unwrap()]);
    let check = |path: &std::path::Path| {
        std::process::Command::new(bins::bin("journal-verify"))
            .args(["--public-key", &public])
            .arg(path)
            .output()
            .unwrap()
    };
    let verified = check(&exported);
    let summary: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert!(verified.status.success(), "{summary}");
    assert!(summary["records"].as_u64().unwrap() >= 5, "events, postings, lists, tariff, invoice: {summary}");
    let text = std::fs::read_to_string(&exported).unwrap();
    let kinds: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["kind"].as_str().map(str::to_owned))
        .collect();
    for kind in ["gate_events", "posting", "lists_version", "tariff_version", "invoice"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing from {kinds:?}");
    }
    // One đồng changed in the invoice's record: caught, and placed.
    let invoice_line = text.lines().position(|l| l.contains("\"kind\":\"invoice\"")).unwrap();
    let forged: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == invoice_line { l.replace("50000", "5000") } else { l.to_owned() })
        .collect();
    let tampered = dir.join("tampered.jsonl");
    std::fs::write(&tampered, forged.join("\n")).unwrap();
    let refused = check(&tampered);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("was edited"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );
    ctl.kill();
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
