//! Modbus RTU frames for relay boards (docs/devices.md, "Barriers and relay boards"): write single coil
//! (function 05) to pulse a barrier's OPEN contact, read discrete inputs
//! (function 02) for the loop detector, CRC-16/MODBUS (preset 0xFFFF,
//! reflected polynomial 0xA001, low byte first).

/// CRC-16/MODBUS.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for b in bytes {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
    }
    crc
}

fn with_crc(mut frame: Vec<u8>) -> Vec<u8> {
    let crc = crc16(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame
}

/// Write single coil: `Addr 05 CoilHi CoilLo FF|00 00 CRC`. The board
/// echoes it back unchanged.
pub fn write_coil(addr: u8, coil: u16, on: bool) -> Vec<u8> {
    let [hi, lo] = coil.to_be_bytes();
    with_crc(vec![addr, 0x05, hi, lo, if on { 0xFF } else { 0x00 }, 0x00])
}

/// Read discrete inputs: `Addr 02 StartHi StartLo QtyHi QtyLo CRC`.
pub fn read_inputs(addr: u8, start: u16, count: u16) -> Vec<u8> {
    let [sh, sl] = start.to_be_bytes();
    let [qh, ql] = count.to_be_bytes();
    with_crc(vec![addr, 0x02, sh, sl, qh, ql])
}

/// Why a reply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModbusError {
    #[error("the board answered with exception {code:#04X} to function {function:#04X}")]
    Exception { function: u8, code: u8 },
    #[error("reply CRC mismatch")]
    Crc,
    #[error("the echo differs from the request")]
    BadEcho,
    #[error("reply from address {got}, expected {want}")]
    WrongAddress { want: u8, got: u8 },
    #[error("malformed reply: {0}")]
    Malformed(&'static str),
}

/// How many bytes the reply to `request` will have once its first bytes
/// are known, or `None` if more are needed to tell.
pub fn reply_len(request: &[u8], head: &[u8]) -> Option<usize> {
    let function = *head.get(1)?;
    if function & 0x80 != 0 {
        return Some(5); // Addr, function|0x80, code, CRC
    }
    match request.get(1) {
        Some(0x05) => Some(8),
        Some(0x02) => head.get(2).map(|n| 3 + usize::from(*n) + 2),
        _ => None,
    }
}

fn check(request: &[u8], reply: &[u8]) -> Result<(), ModbusError> {
    if reply.len() < 5 {
        return Err(ModbusError::Malformed("shorter than 5 bytes"));
    }
    let n = reply.len();
    if crc16(&reply[..n - 2]).to_le_bytes() != [reply[n - 2], reply[n - 1]] {
        return Err(ModbusError::Crc);
    }
    if reply[0] != request[0] {
        return Err(ModbusError::WrongAddress { want: request[0], got: reply[0] });
    }
    if reply[1] == request[1] | 0x80 {
        return Err(ModbusError::Exception { function: request[1], code: reply[2] });
    }
    Ok(())
}

/// Checks the board's echo of a write-coil request.
pub fn check_echo(request: &[u8], reply: &[u8]) -> Result<(), ModbusError> {
    check(request, reply)?;
    if reply != request {
        return Err(ModbusError::BadEcho);
    }
    Ok(())
}

/// Reads the input states from a read-discrete-inputs reply.
pub fn parse_inputs(request: &[u8], reply: &[u8], count: u16) -> Result<Vec<bool>, ModbusError> {
    check(request, reply)?;
    if reply[1] != 0x02 {
        return Err(ModbusError::Malformed("not a discrete-inputs reply"));
    }
    let bytes = &reply[3..reply.len() - 2];
    if usize::from(reply[2]) != bytes.len() || bytes.len() * 8 < usize::from(count) {
        return Err(ModbusError::Malformed("byte count"));
    }
    Ok((0..usize::from(count)).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_vectors() {
        assert_eq!(crc16(b"123456789"), 0x4B37);
        assert_eq!(write_coil(1, 0, true), [0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A]);
        let off = write_coil(1, 0, false);
        assert_eq!(&off[..6], [0x01, 0x05, 0x00, 0x00, 0x00, 0x00]);
        assert_eq!(check_echo(&off, &off), Ok(()));
    }

    #[test]
    fn bad_replies_are_named() {
        let req = write_coil(1, 3, true);
        let mut wrong = req.clone();
        wrong[4] = 0x00;
        let crc = crc16(&wrong[..6]).to_le_bytes();
        wrong[6..].copy_from_slice(&crc);
        assert_eq!(check_echo(&req, &wrong), Err(ModbusError::BadEcho));
        let mut corrupt = req.clone();
        corrupt[7] ^= 1;
        assert_eq!(check_echo(&req, &corrupt), Err(ModbusError::Crc));
        let exception = with_crc(vec![0x01, 0x85, 0x02]);
        assert_eq!(check_echo(&req, &exception), Err(ModbusError::Exception { function: 5, code: 2 }));
        assert_eq!(reply_len(&req, &exception[..2]), Some(5));
        let other = with_crc(vec![0x07, 0x05, 0x00, 0x03, 0xFF, 0x00]);
        assert_eq!(check_echo(&req, &other), Err(ModbusError::WrongAddress { want: 1, got: 7 }));
    }

    proptest::proptest! {
        /// Whatever a board (or line noise) answers is a value or an
        /// error, never a panic; a reply that passes has a good CRC.
        #[test]
        fn hostile_replies_never_panic(
            reply in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            coil in 0u16..64,
            count in 1u16..2000,
        ) {
            let write = write_coil(1, coil, true);
            let read = read_inputs(1, 0, count);
            let _ = reply_len(&write, &reply);
            let _ = reply_len(&read, &reply);
            if check_echo(&write, &reply).is_ok() {
                proptest::prop_assert_eq!(&reply, &write);
            }
            if let Ok(bits) = parse_inputs(&read, &reply, count) {
                proptest::prop_assert_eq!(bits.len(), usize::from(count));
                proptest::prop_assert_eq!(crc16(&reply[..reply.len() - 2]).to_le_bytes(), [reply[reply.len() - 2], reply[reply.len() - 1]]);
            }
        }
    }

    #[test]
    fn discrete_inputs() {
        let req = read_inputs(1, 0, 10);
        let reply = with_crc(vec![0x01, 0x02, 0x02, 0b0000_0101, 0b0000_0010]);
        assert_eq!(reply_len(&req, &reply[..3]), Some(reply.len()));
        let got = parse_inputs(&req, &reply, 10).unwrap();
        assert_eq!(got, [true, false, true, false, false, false, false, false, false, true]);
        assert!(parse_inputs(&req, &with_crc(vec![0x01, 0x02, 0x01, 0x00]), 10).is_err());
    }
}
