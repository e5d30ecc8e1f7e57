//! Any text as a tariff file or as a controller's or lot server's
//! configuration file, with any override: an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parking_core::TariffBook;
use parking_core::config::Loader;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = TariffBook::from_files([("fuzz.toml", text)], None, "fuzz");
    // The first line, if it is KEY=VALUE, is an environment override.
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let env: Vec<(String, String)> = first
        .split_once('=')
        .map(|(k, v)| (format!("PARKING__{k}"), v.to_owned()))
        .into_iter()
        .collect();
    let Ok(loader) = Loader::new().files(&["fuzz.toml"], |_| Ok(rest.to_owned())) else { return };
    let loader = loader.env(env);
    let _ = loader.load::<controller::settings::Settings>();
    let _ = loader.load::<lot_server::settings::Settings>();
});
