//! Which URLs outbound calls accept. (The client against a loopback HTTPS
//! server with a test authority is tested in the lot server, where its
//! callers are.)

use super::*;

#[test]
fn https_anywhere_and_http_only_to_this_machine() {
    for ok in [
        "https://my.sepay.vn",
        "https://10.0.0.5:8443/x",
        "http://127.0.0.1:9000",
        "http://localhost/x",
        "http://[::1]:80/",
    ] {
        assert!(check_url("k", ok).is_ok(), "{ok}");
    }
    for (bad, why) in [
        ("http://my.sepay.vn", "only to this machine"),
        ("http://10.0.0.5/x", "only to this machine"),
        ("ftp://my.sepay.vn", "https://"),
        ("my.sepay.vn", "https://"),
        ("https://", "not a URL"),
    ] {
        let e = check_url("settlement.sepay_poll.base_url", bad).unwrap_err().to_string();
        assert!(e.contains("settlement.sepay_poll.base_url") && e.contains(why), "{bad}: {e}");
    }
}
