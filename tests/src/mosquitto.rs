//! A Mosquitto broker owned by one test: its own port, its own persistence
//! directory, killed with SIGKILL and restarted on demand. Tests never
//! touch a broker they did not start.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The mosquitto binary: `PARKING_TEST_MOSQUITTO`, or `mosquitto` on the
/// PATH or in /usr/sbin.
pub fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PARKING_TEST_MOSQUITTO") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
}

/// A free TCP port on loopback (bound, then released), for a server a
/// test starts. It is taken below Linux's ephemeral range (32768–60999):
/// a port the system hands out for `:0` is also what outgoing connections
/// use, and one of them could take it between this check and the server's
/// bind (a controller once failed with "Address already in use" so). Each
/// port is handed out once per test process, and processes start at
/// different places of the range.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = (std::process::id() % 600) * 20;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(LOW + (start + n) % SPAN).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

/// A running (or killed) broker.
#[derive(Debug)]
pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker with persistence (saved every second) and
    /// TCP_NODELAY, on a free port.
    pub fn start() -> std::io::Result<Broker> {
        Broker::start_with("allow_anonymous true\n")
    }

    /// [`Broker::start`], saving its persistent state after every change
    /// (each queued message, each subscription) rather than every second:
    /// a broker killed mid-day then loses nothing it has acknowledged,
    /// but for the few microseconds between an acknowledgement and its save.
    pub fn start_durable() -> std::io::Result<Broker> {
        Broker::start_with("allow_anonymous true\nautosave_on_changes true\n")
    }

    /// [`Broker::start`] with `security` in place of `allow_anonymous
    /// true` (e.g. `password_file` and `acl_file` lines, absolute paths).
    pub fn start_with(security: &str) -> std::io::Result<Broker> {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("parking-mosquitto-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // Run as root, Mosquitto would drop to its own user, which cannot
        // write its persistence file here: `user root` keeps it (and is
        // ignored when the tests do not run as root).
        let conf = format!(
            "listener {port} 127.0.0.1\nuser root\n{security}set_tcp_nodelay true\n\
             persistence true\npersistence_location {}/\nautosave_interval 1\n",
            dir.display()
        );
        std::fs::write(dir.join("mosquitto.conf"), conf)?;
        let mut broker = Broker { port, dir, child: None };
        broker.restart()?;
        Ok(broker)
    }

    /// Starts the broker process again (after [`Broker::kill`]) and waits
    /// until it accepts connections.
    pub fn restart(&mut self) -> std::io::Result<()> {
        let bin = binary().ok_or_else(|| std::io::Error::other("mosquitto not found"))?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err(std::io::Error::other("mosquitto did not start listening"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Waits (10 s at most) until the broker has saved its persistent
    /// state after this call: sessions and subscriptions made before it
    /// then survive a SIGKILL. False if it never did.
    pub async fn saved(&self) -> bool {
        let db = self.dir.join("mosquitto.db");
        let since = std::time::SystemTime::now();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::time::Instant::now() < deadline {
            if std::fs::metadata(&db).and_then(|m| m.modified()).is_ok_and(|m| m > since) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// SIGKILL, as a crash or power cut would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
