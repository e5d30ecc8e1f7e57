//! A fresh database per test, on SQLite or PostgreSQL, so the same test
//! runs against both. PostgreSQL comes from `PARKING_TEST_DATABASE_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`): each test creates
//! its own database there and drops it afterwards.

use crate::db::Db;

/// A database made for one test.
#[derive(Debug)]
pub struct TestDb {
    pub db: Db,
    /// Where it is, for another process or pool to connect to.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    Database { admin: String, name: String },
}

/// The PostgreSQL server tests use.
pub fn postgres_url() -> String {
    std::env::var("PARKING_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

impl TestDb {
    /// A new SQLite file, migrated.
    pub async fn sqlite() -> anyhow::Result<TestDb> {
        let dir = std::env::temp_dir().join(format!("parking-db-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}?mode=rwc", dir.join("lot.sqlite").display());
        let db = Db::connect(&url).await?;
        db.migrate().await?;
        Ok(TestDb { db, url, cleanup: Cleanup::File(dir) })
    }

    /// A new PostgreSQL database on the test server, migrated.
    pub async fn postgres() -> anyhow::Result<TestDb> {
        let admin = postgres_url();
        let name = format!("parking_t_{}", uuid::Uuid::new_v4().simple());
        let admin_db = Db::connect(&admin).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin_db.pool).await?;
        admin_db.pool.close().await;
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let db = Db::connect(&url).await?;
        db.migrate().await?;
        Ok(TestDb { db, url, cleanup: Cleanup::Database { admin, name } })
    }

    /// Closes the pool and removes the database.
    pub async fn drop_db(self) {
        self.db.pool.close().await;
        match self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin, name } => {
                if let Ok(admin) = Db::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&admin.pool).await;
                    admin.pool.close().await;
                }
            }
        }
    }
}

/// Runs one async test body against SQLite (always) and PostgreSQL
/// (ignored by `cargo test`, run by `.ci/run` with `--ignored`).
#[macro_export]
macro_rules! on_both_databases {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let t = $crate::testing::TestDb::sqlite().await.expect("sqlite test database");
                super::$body(&t.db).await;
                t.drop_db().await;
            }

            #[tokio::test]
            #[ignore = "needs PostgreSQL (PARKING_TEST_DATABASE_URL); .ci/run runs it"]
            async fn postgres() {
                let t = $crate::testing::TestDb::postgres().await.expect("postgres test database");
                super::$body(&t.db).await;
                t.drop_db().await;
            }
        }
    };
}
