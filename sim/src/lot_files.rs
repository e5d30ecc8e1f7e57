//! The demonstration lot's files, written once for `sim demo` (the whole
//! lot in one process) and `sim soak` (the lot server and the controller
//! as their own processes): the tariff, `lot-server.toml` (embedded
//! broker, SQLite, the broker's users) and `controller.toml` (four lanes
//! whose barriers are on a Modbus RTU relay board played on a
//! pseudo-terminal by [`relay_board`], their UHF readers on MQTT or, with
//! `sim demo --llrp`, LLRP readers on loopback TCP).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use parking_core::GateId;
use tokio_serial::SerialPort;

pub const TARIFF: &str = include_str!("../../config/tariffs/hanoi-zone1-2018-example.toml");
pub const LOT: &str = "hn-demo-01";
pub const HMAC: &str = "demo-sepay-webhook-secret";

/// The controller's broker user.
pub const CONTROLLER: &str = "demo-controller";

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where the server writes a node's broker secret.
pub fn secret_file(dir: &Path, node: &str) -> PathBuf {
    dir.join("secrets").join(format!("{node}.secret"))
}

/// The lot's broker users: its controller, the simulated lane devices,
/// and a viewer to watch the lanes with.
fn nodes_toml(dir: &Path) -> String {
    let gates: Vec<String> = GATES.iter().map(|(g, _)| format!("\"{g}\"")).collect();
    let gates = gates.join(", ");
    [
        (CONTROLLER, "controller", gates.as_str()),
        ("sim-devices", "devices", gates.as_str()),
        ("demo-viewer", "viewer", ""),
    ]
    .iter()
    .map(|(node, kind, gates)| {
        format!(
            "[[nodes]]\nid = \"{node}\"\nkind = \"{kind}\"\ngates = [{gates}]\nsecret_file = \"{}\"\n",
            secret_file(dir, node).display()
        )
    })
    .collect()
}

pub const GATES: [(&str, &str); 4] =
    [("entry-1", "entry"), ("entry-2", "entry"), ("exit-1", "exit"), ("exit-2", "exit")];

/// The lanes: the example lot's four, their barriers on coils 0 to 3 of
/// one Modbus RTU relay board at `board`, their timers long enough in
/// clock time to survive the clock's speed (at 3,600× a real lane's 30 s
/// pass timeout would be 8 ms of real time, the 5 minutes in which a
/// lane gives its last open again after a restart would be 83 ms, and a
/// plate read would be stale before the tag behind it arrived).
///
/// A gate in `llrp` has its UHF reader on that loopback port, an LLRP
/// reader the simulator plays.
fn lanes_toml(board: &str, llrp: &BTreeMap<GateId, u16>) -> String {
    let mut s = String::new();
    for (coil, (gate, dir)) in GATES.iter().enumerate() {
        s.push_str(&format!(
            "[[lanes]]\ngate = \"{gate}\"\ndirection = \"{dir}\"\npass_timeout_ms = 3600000\narm_held_ms = 3600000\n\
             tailgate_window_ms = 600000\nreopen_within_ms = 21600000\nplate_valid_ms = 600000\nbarrier = {{ kind = \"modbus\", port = \"{board}\", baud = 115200, address = 1, coil = {coil} }}\n"
        ));
        if let Some(port) = gate.parse::<GateId>().ok().and_then(|g| llrp.get(&g)) {
            s.push_str(&format!(
                "reader = {{ kind = \"llrp\", host = \"127.0.0.1\", port = {port}, antennas = [1], keepalive_ms = 1000 }}\n"
            ));
        }
    }
    s
}

/// The relay board on a pseudo-terminal: its device end played here, its
/// host end (kept open by the caller) and its path for the controller.
/// Opens are reported per gate.
pub fn relay_board(
    relays: tokio::sync::mpsc::UnboundedSender<(parking_core::GateId, std::time::Instant)>,
) -> anyhow::Result<(tokio_serial::SerialStream, String)> {
    let (device, host) =
        tokio_serial::SerialStream::pair().context("cannot open a pseudo-terminal for the relay board")?;
    let path = host.name().context("the pseudo-terminal has no name")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let board = std::sync::Arc::new(std::sync::Mutex::new(crate::relay::BoardState {
        on_coil: Some(tx),
        ..crate::relay::BoardState::default()
    }));
    tokio::spawn(crate::relay::play_relay_board(device, 1, board));
    let gates: Vec<parking_core::GateId> = GATES.iter().filter_map(|(g, _)| g.parse().ok()).collect();
    tokio::spawn(async move {
        while let Some((coil, at)) = rx.recv().await {
            if let Some(g) = gates.get(usize::from(coil)) {
                let _ = relays.send((g.clone(), at));
            }
        }
    });
    Ok((host, path))
}

/// The lot's ports on loopback.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub broker: u16,
    pub http: u16,
    /// The controller's `/metrics` and `/health`.
    pub metrics: u16,
}

/// Writes the tariff, `lot-server.toml` and `controller.toml` into `dir`;
/// the gates in `llrp` read tags with an LLRP reader on that port.
pub fn write(dir: &Path, ports: Ports, board: &str, llrp: &BTreeMap<GateId, u16>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("tariffs")).with_context(|| format!("{}", dir.display()))?;
    std::fs::write(dir.join("tariffs/hanoi-zone1.toml"), TARIFF)?;
    let lot = format!(
        "[lot]\nid = \"{LOT}\"\nname = \"Bãi đỗ xe mô phỏng\"\nzone = \"hanoi-zone-1\"\ntariff_dir = \"{}\"\n\
         address = \"1 Tràng Tiền, Hoàn Kiếm, Hà Nội\"\nopening_hours = \"24/7\"\n\
         [lot.capacity]\nbicycle = 60\nmotorbike = 1200\ncar = 300\nbus_truck = 20\n",
        dir.join("tariffs").display()
    );
    let broker = format!("[broker]\nhost = \"127.0.0.1\"\nport = {}\n", ports.broker);
    let server_toml = format!(
        "{lot}{broker}embedded = true\n[server]\nlisten = \"127.0.0.1:{}\"\n[database]\nurl = \"sqlite://{}?mode=rwc\"\n\
         [settlement]\nsepay_hmac_secret = \"{HMAC}\"\n\
         [invoice]\nseller_name = \"Công ty TNHH Bãi đỗ xe mô phỏng\"\nseller_address = \"1 Tràng Tiền, Hoàn Kiếm, Hà Nội\"\n\
         seller_tax_code = \"0100000000\"\nseries_letters = \"PK\"\nregister_code = \"00000\"\ndrop_dir = \"{}\"\n{}",
        ports.http,
        dir.join("lot-server.sqlite").display(),
        dir.join("invoices").display(),
        nodes_toml(dir)
    );
    // The controller connects as its own broker user, with the secret the
    // server writes on its start.
    let ctl_toml = format!(
        "{lot}{broker}username = \"{CONTROLLER}\"\npassword_file = \"{}\"\n\
         [controller]\nnode = \"{CONTROLLER}\"\njournal = \"{}\"\nticket_key = \"demo-ticket-key-0123456789\"\n\
         metrics_listen = \"127.0.0.1:{}\"\n\
         [bank]\nbin = \"970403\"\naccount = \"0011012345678\"\naccount_name = \"BAI DO XE MO PHONG\"\n{}",
        secret_file(dir, CONTROLLER).display(),
        dir.join("controller.sqlite").display(),
        ports.metrics,
        lanes_toml(board, llrp)
    );
    std::fs::write(dir.join("lot-server.toml"), server_toml)?;
    std::fs::write(dir.join("controller.toml"), ctl_toml)?;
    Ok(())
}
