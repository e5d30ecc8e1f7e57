//! Chunking, placeholders, lock spaces and schemas, on both databases.

use super::locks::lock_key;
use super::sql::pow2_chunks;
use super::*;

#[test]
fn power_of_two_chunks() {
    let items: Vec<u32> = (0..37).collect();
    let sizes: Vec<usize> = pow2_chunks(&items, 64).map(<[u32]>::len).collect();
    assert_eq!(sizes, vec![32, 4, 1]);
    let sizes: Vec<usize> = pow2_chunks(&items, 16).map(<[u32]>::len).collect();
    assert_eq!(sizes, vec![16, 16, 4, 1]);
    assert_eq!(pow2_chunks(&items[..0], 64).count(), 0);
    let all: Vec<u32> = pow2_chunks(&items, 8).flatten().copied().collect();
    assert_eq!(all, items);
}

#[test]
fn placeholder_lists() {
    assert_eq!(Backend::Postgres.placeholders(2, 2), "($1, $2), ($3, $4)");
    assert_eq!(Backend::Postgres.params(3, 2), "$3, $4");
    assert_eq!(Backend::Sqlite.placeholders(2, 2), "(?, ?), (?, ?)");
}

#[test]
fn each_lots_locks_are_its_own() {
    assert_eq!(lock_key(0, TxLock::Stays), 0x5041_524b, "the URL's own schema keeps the key it always had");
    let (a, b) = (lock_space_of("lot_a"), lock_space_of("lot_b"));
    assert_ne!(a, b);
    assert!(a > 0 && b > 0);
    assert_ne!(lock_key(a, TxLock::Stays), lock_key(b, TxLock::Stays));
    assert!(lock_key(a, TxLock::Stays) > 0, "a positive bigint");
    assert_eq!(quote_ident("lot_x-1"), "\"lot_x-1\"");
    assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
}

#[tokio::test]
async fn a_schema_is_refused_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("parking-schema-{}", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", dir.join("x.sqlite").display());
    let e = Db::connect_in(&url, Some("lot_x")).await.unwrap_err().to_string();
    assert!(e.contains("own file"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Two lots in schemas of one PostgreSQL database: neither sees the
/// other's rows, a second instance finds the same schema, and each
/// lot's transaction lock holds back only its own lot.
#[tokio::test]
#[ignore = "needs PostgreSQL (PARKING_TEST_DATABASE_URL); .ci/run runs it"]
async fn lots_in_schemas_of_one_database_are_apart() {
    use crate::tokens::{self, Role};
    let t = crate::testing::TestDb::postgres().await.expect("postgres test database");
    let a = Db::connect_in(&t.url, Some("lot_a")).await.unwrap();
    a.migrate().await.unwrap();
    let b = Db::connect_in(&t.url, Some("lot_b")).await.unwrap();
    b.migrate().await.unwrap();
    let made = tokens::create(&a, Role::Operator, "a's", 0).await.unwrap();
    assert!(tokens::verify(&a, &made.token).await.unwrap().is_some());
    assert!(tokens::verify(&b, &made.token).await.unwrap().is_none(), "lot a's token means nothing in lot b");
    assert!(tokens::verify(&t.db, &made.token).await.unwrap().is_none(), "nor in the public schema");
    let a2 = Db::connect_in(&t.url, Some("lot_a")).await.unwrap();
    a2.migrate().await.unwrap();
    assert!(tokens::verify(&a2, &made.token).await.unwrap().is_some(), "a second instance finds lot a");

    let mut held = a.begin_write().await.unwrap();
    lock_tx(&mut held, &a, TxLock::Stays).await.unwrap();
    let mut other_lot = b.begin_write().await.unwrap();
    let took = tokio::time::timeout(Duration::from_secs(5), lock_tx(&mut other_lot, &b, TxLock::Stays)).await;
    assert!(matches!(took, Ok(Ok(()))), "lot b is not held back by lot a's lock");
    let mut same_lot = a2.begin_write().await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), lock_tx(&mut same_lot, &a2, TxLock::Stays)).await;
    assert!(waited.is_err(), "lot a's second instance waits for the first");
    drop(same_lot);
    held.rollback().await.unwrap();
    other_lot.rollback().await.unwrap();
    for db in [a, a2, b] {
        db.pool.close().await;
    }
    t.drop_db().await;
}

#[test]
fn sqlite_paths() {
    assert_eq!(sqlite_path("sqlite://var/a.sqlite?mode=rwc").as_deref(), Some("var/a.sqlite"));
    assert_eq!(sqlite_path("sqlite::memory:"), None);
}
