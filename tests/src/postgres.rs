//! A PostgreSQL server owned by one test: its own data directory (made by
//! `initdb`), its own port, killed with SIGKILL and restarted on demand.
//! The machine's shared PostgreSQL is never touched.
//!
//! PostgreSQL refuses to run as root, so when the tests do, the server is
//! started as the `postgres` user through `runuser`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::mosquitto::free_port;

/// The directory of `initdb` and `postgres`: `PARKING_TEST_PG_BIN`, or
/// the newest `/usr/lib/postgresql/*/bin`, or the PATH.
fn bin_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PARKING_TEST_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// A command run as the user PostgreSQL accepts.
fn as_pg_user(program: PathBuf) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A running (or killed) PostgreSQL server.
#[derive(Debug)]
pub struct PgServer {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
}

impl PgServer {
    /// Makes a data directory and starts the server on a free port;
    /// `postgres` may connect without a password (trust) on 127.0.0.1.
    pub fn start() -> std::io::Result<PgServer> {
        let bin = bin_dir().ok_or_else(|| std::io::Error::other("initdb not found (PARKING_TEST_PG_BIN)"))?;
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("parking-pg-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            let chown = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status()?;
            if !chown.success() {
                return Err(std::io::Error::other("cannot give the data directory to postgres"));
            }
        }
        let init = as_pg_user(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(dir.join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        if !init.status.success() {
            return Err(std::io::Error::other(format!("initdb: {}", String::from_utf8_lossy(&init.stderr))));
        }
        let mut pg = PgServer { port, dir, bin, child: None };
        pg.restart()?;
        Ok(pg)
    }

    /// The URL of database `postgres` on this server.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server again (after [`PgServer::kill`]) and waits until
    /// it accepts connections. Crash recovery replays its write-ahead log.
    pub fn restart(&mut self) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("server.log"))?;
            let mut child = as_pg_user(self.bin.join("postgres"))
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-k"])
                .arg(&self.dir)
                .args(["-c", "fsync=off", "-c", "max_connections=200"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()?;
            // It exits at once while the killed server's backends still hold
            // its shared memory: then it is started again.
            while Instant::now() < deadline && child.try_wait()?.is_none() {
                if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                    self.child = Some(child);
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        Err(std::io::Error::other(format!("postgres did not start: {log}")))
    }

    /// SIGKILL to the postmaster, as a crash would; its backends notice
    /// and exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Through runuser, the child is runuser: signal the server itself.
            if let Ok(pid) = std::fs::read_to_string(self.dir.join("data/postmaster.pid")) {
                if let Some(pid) = pid.lines().next() {
                    let _ = Command::new("kill").args(["-9", pid.trim()]).status();
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
