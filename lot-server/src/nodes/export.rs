//! `lot-server node export --mosquitto DIR`: the broker's users for a
//! Mosquitto deployment, the same as the embedded broker's: `passwd`
//! (each node's `$6$` hash, for `password_file`, mode 0600) and `acl`
//! (each node's grant, for `acl_file`).

use std::path::Path;

use parking_core::wire::Topics;
use parking_core::wire::acl::Grant;

use super::Node;

/// The password file's text.
pub fn passwd(nodes: &[Node]) -> String {
    nodes.iter().map(|n| format!("{}:{}\n", n.id, n.secret_hash)).collect()
}

/// The ACL file's text: one `user` block per node.
pub fn acl(nodes: &[Node]) -> String {
    let mut out = String::from("# Made by lot-server node export --mosquitto: one block per node.\n\n");
    for n in nodes {
        let grant = Grant::for_node(&Topics::new(n.lot.clone()), &n.id, &n.role);
        let gates: Vec<&str> = n.role.gates().iter().map(|g| g.as_str()).collect();
        let comment = format!("{} {} of lot {} {}", n.role.kind(), n.id, n.lot, gates.join(" "));
        out.push_str(&grant.mosquitto(n.id.as_str(), comment.trim_end()));
        out.push('\n');
    }
    out
}

/// Writes `passwd` and `acl` into `dir`; the paths written.
pub fn write(dir: &Path, nodes: &[Node]) -> std::io::Result<[std::path::PathBuf; 2]> {
    std::fs::create_dir_all(dir)?;
    let passwd_path = dir.join("passwd");
    super::secret::write_file(&passwd_path, passwd(nodes).trim_end())?;
    let acl_path = dir.join("acl");
    std::fs::write(&acl_path, acl(nodes))?;
    Ok([passwd_path, acl_path])
}
