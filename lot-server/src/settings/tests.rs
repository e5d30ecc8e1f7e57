#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn a_share_group_is_a_plain_name() {
    assert_eq!("lot-servers".parse::<ShareGroup>().unwrap().as_str(), "lot-servers");
    for bad in ["", "a/b", "lots+", "#", "a b", &"x".repeat(65)] {
        let e = bad.parse::<ShareGroup>().unwrap_err();
        assert!(e.contains("share_group"), "{e}");
    }
}
