//! The URLs the server calls out to (`settlement.sepay_poll.base_url`,
//! `invoice.api.url`), checked when the settings load: `https://`, or
//! plain `http://` to this machine only.

use super::LotConfig;

/// The first URL of any lot that outbound calls may not use: its key,
/// what is wrong, and a hint.
pub(super) fn check(lots: &[LotConfig]) -> Result<(), (String, String, &'static str)> {
    for l in lots {
        let poll = l.settlement.sepay_poll.as_ref().map(|p| ("settlement.sepay_poll.base_url", p.base_url.as_str()));
        let api = l.invoice.api.as_ref().map(|a| ("invoice.api.url", a.url.as_str()));
        for (key, url) in poll.into_iter().chain(api) {
            parking_runtime::https::check_url(key, url).map_err(|e| {
                (e.key, format!("{:?}: {}", e.url, e.why), " (the token it carries must not cross a network in clear)")
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::settings::Settings;

    fn load(extra: &str) -> Result<Settings, String> {
        let dir = std::env::temp_dir().join(format!("outbound-settings-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, format!("[lot]\nid = \"l\"\nname = \"L\"\nzone = \"z\"\n[broker]\n[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite::memory:\"\n{extra}")).unwrap();
        let s = Settings::load(&[path]).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(dir);
        s
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        let poll = "[settlement.sepay_poll]\nbase_url = \"https://my.sepay.vn\"\ntoken = \"t\"\n";
        assert!(load(poll).is_ok(), "{:?}", load(poll).err());
        let local = "[invoice.api]\nurl = \"http://127.0.0.1:8443/invoices\"\ntoken = \"t\"\n";
        assert!(load(local).is_ok(), "{:?}", load(local).err());
    }

    #[test]
    fn plain_http_across_a_network_is_refused_with_the_key() {
        let e = load("[settlement.sepay_poll]\nbase_url = \"http://my.sepay.vn\"\ntoken = \"t\"\n").unwrap_err();
        assert!(e.contains("settlement.sepay_poll.base_url") && e.contains("https://"), "{e}");
        let e = load("[invoice.api]\nurl = \"ftp://provider.vn/x\"\ntoken = \"t\"\n").unwrap_err();
        assert!(e.contains("invoice.api.url"), "{e}");
    }
}
