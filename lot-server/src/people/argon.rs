//! Slow salted hashes (Argon2id, the crate's default parameters: 19 MiB,
//! two passes) for the secrets people choose or carry: passwords and
//! citizen IDs. A citizen ID has few digits and a password may be weak,
//! so the hash must be slow as well as salted.
//!
//! Every hash runs in turn on one thread. Each fills 19 MiB; run on the
//! blocking pool's many short-lived threads, the allocator kept a copy per
//! thread and arena (3.1 GB resident after a load run registered 244
//! owners). One thread reuses one.

use std::sync::OnceLock;
use std::sync::mpsc::Sender;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

type Job = Box<dyn FnOnce() + Send>;

/// The PHC string (`$argon2id$…`) of `secret`, with a random salt.
pub async fn hash(secret: String) -> Result<String, sqlx::Error> {
    on_hasher(move || {
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| sqlx::Error::Protocol(format!("salt: {e}")))?;
        Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| sqlx::Error::Protocol(format!("argon2: {e}")))
    })
    .await?
}

/// Whether `secret` is the one `stored` (a PHC string) was made from.
pub async fn verify(secret: String, stored: String) -> Result<bool, sqlx::Error> {
    on_hasher(move || {
        PasswordHash::new(&stored)
            .map(|h| Argon2::default().verify_password(secret.as_bytes(), &h).is_ok())
            .map_err(|e| sqlx::Error::Decode(format!("stored hash: {e}").into()))
    })
    .await?
}

/// A hash of nothing anyone knows: checked against when a sign-in names no
/// one, so that an unknown username takes as long to refuse as a wrong
/// password and the answer's timing does not say which names exist.
pub async fn decoy() -> Result<String, sqlx::Error> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DECOY.get_or_try_init(|| hash(uuid::Uuid::new_v4().to_string())).await.cloned()
}

async fn on_hasher<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> Result<T, sqlx::Error> {
    static HASHER: OnceLock<Option<Sender<Job>>> = OnceLock::new();
    let hasher = HASHER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("argon2".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            })
            .ok()
            .map(|_| tx)
    });
    let gone = || sqlx::Error::Protocol("the hashing thread is gone".into());
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = done.send(job());
    });
    if hasher.as_ref().is_none_or(|tx| tx.send(job).is_err()) {
        return Err(gone());
    }
    result.await.map_err(|_| gone())
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_hash_checks_its_secret_only() {
        let h = super::hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$") && !h.contains("correct"), "{h}");
        assert!(super::verify("correct horse".into(), h.clone()).await.unwrap());
        assert!(!super::verify("correct hors".into(), h.clone()).await.unwrap());
        assert!(super::verify("x".into(), "not a hash".into()).await.is_err());
        assert_ne!(super::hash("correct horse".into()).await.unwrap(), h, "salted");
    }
}
