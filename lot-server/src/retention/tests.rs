//! Retention on both databases: what is older than kept goes, in batches;
//! what is younger and what the books are made of stays.

use parking_core::wire::{Credential, GateEventKind};

use super::{RetentionSettings, sweep, sweep_in_batches};
use crate::db::Db;
use crate::photos::Photos;
use crate::settlement::tests::{NOW, event_in, policy, tag, ts};

const DAY: i64 = 86_400_000;

async fn count(db: &Db, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&db.pool).await.unwrap()
}

async fn enter(db: &Db, n: u64, at_ms: i64) {
    let credential: Credential = tag(&format!("E2000000000000000000{n:04}"));
    let kind = GateEventKind::Entry { credential, class: "car".parse().unwrap(), plate: None };
    crate::ingest::commit(db, &policy(), &[event_in("ret-lot", n, at_ms, kind)], ts(at_ms)).await.unwrap();
}

async fn sign_in(db: &Db, hash: &str, expires_ms: i64, revoked_ms: Option<i64>) {
    sqlx::query(
        "INSERT INTO login_sessions (session_hash, user_id, created_ms, last_seen_ms, expires_ms, revoked_ms) \
         VALUES ($1, 'u1', $2, $2, $3, $4)",
    )
    .bind(hash)
    .bind(expires_ms - DAY)
    .bind(expires_ms)
    .bind(revoked_ms)
    .execute(&db.pool)
    .await
    .unwrap();
}

async fn old_records_go_and_the_books_stay(db: &Db) {
    // 12 events 500 days ago (three batches of 5), 3 events 10 days ago.
    for n in 0..12 {
        enter(db, n, NOW - 500 * DAY + i64::try_from(n).unwrap() * 1000).await;
    }
    for n in 100..103 {
        enter(db, n, NOW - 10 * DAY).await;
    }
    sign_in(db, "old-expired", NOW - 450 * DAY, None).await;
    sign_in(db, "old-revoked", NOW + DAY, Some(NOW - 401 * DAY)).await;
    sign_in(db, "recent", NOW - 30 * DAY, None).await;
    sign_in(db, "live", NOW + DAY, None).await;
    sqlx::query("INSERT INTO login_failures (username, at_ms) VALUES ('a', $1), ('b', $2)")
        .bind(NOW - 500 * DAY)
        .bind(NOW - DAY)
        .execute(&db.pool)
        .await
        .unwrap();
    let stays = count(db, "sessions").await;
    let journal = count(db, "journal_outbox").await + count(db, "journal_records").await;
    assert_eq!(count(db, "gate_events").await, 15);

    let photos = Photos::new(db.clone(), None);
    let swept = sweep_in_batches(db, &photos, RetentionSettings::default(), NOW, 5).await.unwrap();
    assert_eq!((swept.gate_events, swept.sign_ins, swept.failed_sign_ins), (12, 2, 1), "{swept:?}");
    assert_eq!(count(db, "gate_events").await, 3);
    let left: Vec<String> = sqlx::query_scalar("SELECT session_hash FROM login_sessions ORDER BY session_hash")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, ["live", "recent"]);
    assert_eq!(count(db, "login_failures").await, 1);
    assert_eq!(count(db, "sessions").await, stays, "stays are the books: never deleted");
    assert_eq!(count(db, "journal_outbox").await + count(db, "journal_records").await, journal);

    // Again: nothing left to delete. With 0 days nothing is ever deleted.
    assert_eq!(sweep(db, &photos, RetentionSettings::default(), NOW).await.unwrap(), super::Swept::default());
    let forever = RetentionSettings { gate_events_days: 0, sign_ins_days: 0, photos_days: 0 };
    assert_eq!(sweep(db, &photos, forever, NOW + 5_000 * DAY).await.unwrap(), super::Swept::default());
    assert_eq!(count(db, "gate_events").await, 3);
}
crate::on_both_databases!(retention, old_records_go_and_the_books_stay);
