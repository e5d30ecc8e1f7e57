//! The Modbus relay-board driver against a board played on the other end
//! of a real pseudo-terminal: real frames, real CRCs, real timing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::sync::{Arc, Mutex};
use std::time::Duration;

use controller::barrier::{Barrier, BarrierError, RelayBoard};
use parking_tests::devices::{BoardState, play_relay_board, pulses};
use tokio_serial::SerialStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulse_closes_the_relay_then_opens_it_and_inputs_read_back() {
    let (device, host) = SerialStream::pair().expect("pty pair");
    let board = Arc::new(Mutex::new(BoardState { inputs: vec![false, true, false], ..BoardState::default() }));
    tokio::spawn(play_relay_board(device, 1, Arc::clone(&board)));
    let mut relay = RelayBoard::new(host, 1, 2);
    relay.pulse(300).await.expect("pulse confirmed by the echo");
    let held = pulses(&board, 2);
    assert_eq!(held.len(), 1, "one ON then one OFF on coil 2");
    assert!(held[0] >= Duration::from_millis(300) && held[0] < Duration::from_millis(600), "{held:?}");
    assert_eq!(relay.read_inputs(0, 3).await.unwrap(), vec![false, true, false]);
    board.lock().unwrap().inputs[0] = true;
    assert_eq!(relay.read_inputs(0, 3).await.unwrap(), vec![true, true, false]);
    assert_eq!(board.lock().unwrap().bad_frames, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_board_is_an_error_not_a_hang() {
    let (device, host) = SerialStream::pair().expect("pty pair");
    let board = Arc::new(Mutex::new(BoardState { mute: true, ..BoardState::default() }));
    tokio::spawn(play_relay_board(device, 1, Arc::clone(&board)));
    let mut relay = RelayBoard::new(host, 1, 0);
    let err = relay.pulse(100).await.unwrap_err();
    assert!(matches!(err, BarrierError::Timeout(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_at_another_address_does_not_confirm() {
    let (device, host) = SerialStream::pair().expect("pty pair");
    let board = Arc::new(Mutex::new(BoardState::default()));
    // The board answers at address 7; the driver talks to address 1.
    tokio::spawn(play_relay_board(device, 7, Arc::clone(&board)));
    let mut relay = RelayBoard::new(host, 1, 0);
    assert!(relay.pulse(100).await.is_err());
    assert!(board.lock().unwrap().writes.is_empty(), "nothing switched");
}
