//! Any bytes as a relay board's reply to a write-coil or a read-inputs
//! request: an error, never a panic, and a reply length that fits.
#![no_main]

use controller::modbus::{check_echo, parse_inputs, read_inputs, reply_len, write_coil};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, reply)) = data.split_first() else { return };
    let count = u16::from(sel % 17);
    let write = write_coil(sel % 8, u16::from(sel), sel & 1 == 0);
    let read = read_inputs(sel % 8, 0, count);
    for request in [&write, &read] {
        if let Some(n) = reply_len(request, reply) {
            assert!(n >= 5 && n <= 3 + 255 + 2, "reply length {n}");
        }
    }
    let _ = check_echo(&write, reply);
    if let Ok(inputs) = parse_inputs(&read, reply, count) {
        assert!(inputs.len() >= usize::from(count));
    }
});
