//! A node's broker secret and how it is kept: 244 random bits (two v4
//! UUIDs from the OS generator), stored as Mosquitto's `$6$` form, a
//! salted SHA-512 (`$6$` base64(salt) `$` base64(SHA-512(secret ‖ salt))),
//! so `node export --mosquitto` hands Mosquitto the same users. A fast
//! hash is enough for a secret this long and random: there is no
//! dictionary to try, and the connection storm of a lot restart (hundreds
//! of clients at once) costs microseconds each, not Argon2's tens of
//! milliseconds.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha512};

/// A new secret: 64 hex digits.
pub fn new_secret() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

fn digest(secret: &str, salt: &[u8]) -> Vec<u8> {
    let mut h = Sha512::new();
    h.update(secret.as_bytes());
    h.update(salt);
    h.finalize().to_vec()
}

/// The `$6$` hash of `secret`, with a fresh 12-byte salt.
pub fn hash(secret: &str) -> String {
    let salt = &uuid::Uuid::new_v4().into_bytes()[..12];
    format!("$6${}${}", STANDARD.encode(salt), STANDARD.encode(digest(secret, salt)))
}

/// Does `secret` match the `$6$` hash `stored`?
pub fn verify(secret: &str, stored: &str) -> bool {
    let Some((salt, want)) = stored.strip_prefix("$6$").and_then(|rest| rest.split_once('$')) else {
        return false;
    };
    match (STANDARD.decode(salt), STANDARD.decode(want)) {
        (Ok(salt), Ok(want)) => digest(secret, &salt) == want,
        _ => false,
    }
}

/// Writes a secret to `path` readable by its owner only (0600), making
/// its directory if needed.
pub fn write_file(path: &std::path::Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(format!("{secret}\n").as_bytes())
}

/// The secret in `path`, if the file is there.
pub fn read_file(path: &std::path::Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_secret_verifies_against_its_hash_only() {
        let s = new_secret();
        assert_eq!(s.len(), 64);
        let h = hash(&s);
        assert!(h.starts_with("$6$") && h.len() == 3 + 16 + 1 + 88, "{h}");
        assert!(verify(&s, &h));
        assert!(!verify(&new_secret(), &h));
        assert!(!verify(&s, "$7$101$x$y"));
        assert_ne!(hash(&s), h, "each hash has its own salt");
    }

    #[test]
    fn the_form_is_mosquittos() {
        // SHA-512("pw" ‖ "salt") in the $6$ form, computed apart (Python's hashlib).
        let stored =
            "$6$c2FsdA==$oPeb5nMm4U4xiTpjSVruRPjXz2QaN/TSTSakuCiJtR8qzibNgZZ412rWVSMttxWmz05EMhOAaVT07opmzYU/tg==";
        assert!(verify("pw", stored));
        assert!(!verify("pw2", stored));
    }

    #[test]
    fn the_file_is_the_owners_only() {
        let dir = std::env::temp_dir().join(format!("parking-secret-{}", std::process::id()));
        let path = dir.join("a/b.secret");
        write_file(&path, "s3").unwrap();
        assert_eq!(read_file(&path).unwrap().as_deref(), Some("s3"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(read_file(&dir.join("none")).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
