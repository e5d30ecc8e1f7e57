//! Lane photos on both databases, in the database and as files: kept once,
//! refused when they are not photos, paired with their stay's entry, and
//! swept with their files.

use base64::Engine as _;
use parking_core::VehicleClass;
use parking_core::wire::{AlarmKind, GateEvent, GateEventKind, PhotoMsg, Settlement, V1};

use super::{Photos, event_photos};
use crate::db::Db;
use crate::settlement::tests::{NOW, event_in, policy, tag, ts};

const LOT: &str = "photo-lot";
const EPC: &str = "E2000000000000000000AB01";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0 a small jpeg";

fn photo(event: &GateEvent, bytes: &[u8]) -> PhotoMsg {
    PhotoMsg {
        v: V1,
        gate: event.gate.clone(),
        event_id: event.event_id,
        at: event.at,
        content_type: "image/jpeg".into(),
        image: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// A tag's stay: in at NOW − 1 h, held at the exit at NOW, out a minute later.
async fn stay(db: &Db) -> [GateEvent; 3] {
    let entry = event_in(
        LOT,
        1,
        NOW - 3_600_000,
        GateEventKind::Entry { credential: tag(EPC), class: VehicleClass::Car, plate: None },
    );
    let held = event_in(
        LOT,
        2,
        NOW,
        GateEventKind::Held {
            credential: tag(EPC),
            alarm: AlarmKind::TagOnOtherVehicle,
            entered: None,
            seen: None,
            detail: "plates differ".into(),
        },
    );
    let exit = event_in(
        LOT,
        3,
        NOW + 60_000,
        GateEventKind::Exit {
            credential: tag(EPC),
            class: VehicleClass::Car,
            plate: None,
            entered_at: Some(ts(NOW - 3_600_000)),
            fee: None,
            settlement: Settlement::Free,
        },
    );
    let events = [entry, held, exit];
    crate::ingest::commit(db, &policy(), &events, ts(NOW + 60_000)).await.unwrap();
    events
}

async fn photos_are_kept_paired_and_swept(db: &Db, photos: &Photos) {
    let [entry, held, exit] = stay(db).await;
    assert!(photos.keep(&photo(&entry, JPEG)).await.unwrap(), "kept");
    assert!(!photos.keep(&photo(&entry, b"\xFF\xD8\xFFother")).await.unwrap(), "a second delivery is no new photo");
    assert_eq!(photos.get(&entry.event_id.to_string()).await.unwrap().unwrap().bytes, JPEG, "the first one stays");
    let png = b"\x89PNG\r\n\x1a\n a png";
    photos.keep(&photo(&held, png)).await.unwrap();
    let got = photos.get(&held.event_id.to_string()).await.unwrap().unwrap();
    assert_eq!((got.content_type.as_str(), got.bytes.as_slice()), ("image/png", &png[..]), "typed by its bytes");

    // Not photos: refused, nothing kept.
    let mut bad = photo(&exit, JPEG);
    bad.image = "not base64!".into();
    assert!(photos.keep(&bad).await.unwrap_err().to_string().contains("not base64"));
    assert!(photos.keep(&photo(&exit, b"GIF89a")).await.unwrap_err().to_string().contains("not a JPEG or PNG"));
    let huge = [&[0xFF, 0xD8, 0xFF][..], &vec![0; parking_core::wire::PHOTO_MAX_BYTES]].concat();
    assert!(photos.keep(&photo(&exit, &huge)).await.unwrap_err().to_string().contains("larger than"));
    assert!(photos.get(&exit.event_id.to_string()).await.unwrap().is_none());

    // The hold finds the stay that was inside, and its entry photo.
    let pair = event_photos(db, LOT, &held.event_id.to_string()).await.unwrap();
    assert_eq!(pair.entry.unwrap().event_id, entry.event_id.to_string());
    assert_eq!(pair.now.unwrap().url, format!("/api/v1/photos/{}", held.event_id));
    // The exit, with no photo of its own, still shows the entry's.
    let pair = event_photos(db, LOT, &exit.event_id.to_string()).await.unwrap();
    assert_eq!((pair.entry.map(|p| p.event_id), pair.now), (Some(entry.event_id.to_string()), None));
    let pair = event_photos(db, LOT, &entry.event_id.to_string()).await.unwrap();
    assert_eq!(pair.entry, pair.now);
    // The stay's detail says which of its events have a photo.
    let session: String = sqlx::query_scalar("SELECT session_id FROM sessions WHERE entry_event = $1")
        .bind(entry.event_id.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let detail = crate::stay_detail::detail(db, &session).await.unwrap();
    let flags: Vec<(&str, bool)> = detail.events.iter().map(|e| (e.kind.as_str(), e.photo)).collect();
    assert_eq!(flags, [("entry", true), ("exit", false)]);

    // Swept: what was taken before the cutoff goes, with its file.
    assert_eq!(photos.sweep(NOW - 60_000, 1).await.unwrap(), 1);
    assert!(photos.get(&entry.event_id.to_string()).await.unwrap().is_none());
    assert!(photos.get(&held.event_id.to_string()).await.unwrap().is_some());
    assert_eq!(photos.sweep(NOW + 1, 10).await.unwrap(), 1);
    assert_eq!(photos.sweep(NOW + 1, 10).await.unwrap(), 0);
}

async fn in_the_database(db: &Db) {
    photos_are_kept_paired_and_swept(db, &Photos::new(db.clone(), None)).await;
}

async fn as_files(db: &Db) {
    let dir = std::env::temp_dir().join(format!("lot-photos-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
    let photos = Photos::new(db.clone(), Some(dir.clone()));
    photos_are_kept_paired_and_swept(db, &photos).await;
    let left: Vec<_> = walk(&dir);
    assert!(left.is_empty(), "the sweep deleted the files too: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] })
        .collect()
}

crate::on_both_databases!(photos_in_the_database, in_the_database);
crate::on_both_databases!(photos_as_files, as_files);
