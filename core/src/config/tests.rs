use serde::Deserialize;

use super::*;
use crate::settings::{BrokerSettings, LotSettings};

#[derive(Debug, Deserialize)]
struct Settings {
    lot: LotSettings,
    broker: BrokerSettings,
    #[serde(default)]
    lanes: Vec<Lane>,
}

#[derive(Debug, Deserialize)]
struct Lane {
    gate: crate::GateId,
    pulse_ms: u16,
}

const BASE: &str = r#"
[lot]
id = "hn-01"
name = "Example lot"
zone = "hanoi-zone-1"

[broker]
port = 1883
password = "s3cret"

[[lanes]]
gate = "entry-1"
pulse_ms = 400
"#;

fn load(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut loader = Loader::new();
    for (origin, text) in files {
        loader = loader.file(*origin, *text);
    }
    loader.env(env.iter().map(|(k, v)| (*k, *v))).load()
}

#[test]
fn layers_merge_and_env_overrides_with_types() {
    let s = load(
        &[("config/lot.toml", BASE), ("config/local.toml", "[broker]\nhost = \"10.0.0.5\"\n")],
        &[("PARKING__BROKER__PORT", "1884"), ("PARKING__BROKER__EMBEDDED", "false"), ("HOME", "/root")],
    )
    .unwrap();
    assert_eq!(s.lot.id.as_str(), "hn-01");
    assert_eq!(s.broker.host, "10.0.0.5", "second file overrides the first");
    assert_eq!(s.broker.port, 1884, "environment overrides files");
    assert!(!s.broker.embedded);
    assert_eq!(s.broker.keep_alive_secs, 15, "defaults fill the rest");
    assert_eq!((s.lanes[0].gate.as_str(), s.lanes[0].pulse_ms), ("entry-1", 400));
    assert_eq!(format!("{:?}", s.broker.password), "Some(Secret(***))");
    assert_eq!(s.lot.tariff_dir, "config/tariffs");
}

#[test]
fn a_typo_names_the_file_and_the_key() {
    let typo = BASE.replace("port = 1883", "prot = 1883");
    let err = load(&[("config/lot.toml", &typo)], &[]).unwrap_err();
    assert_eq!(err, ConfigError::Unknown { origin: "config/lot.toml".into(), key: "broker.prot".into() });
    assert!(err.to_string().starts_with("config/lot.toml: unknown key `broker.prot`"), "{err}");
}

#[test]
fn a_typo_in_an_array_of_tables_is_found() {
    let typo = BASE.replace("pulse_ms = 400", "pulse_ms = 400\npluse = 1");
    let err = load(&[("config/lot.toml", &typo)], &[]).unwrap_err().to_string();
    assert!(err.contains("unknown key `lanes.0.pluse`"), "{err}");
}

#[test]
fn a_missing_key_names_the_key_files_and_variable() {
    let missing = BASE.replace("zone = \"hanoi-zone-1\"\n", "zone_typo = \"x\"\n");
    let err = load(&[("config/lot.toml", &missing), ("config/x.toml", "")], &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("missing key `lot.zone`"), "{text}");
    assert!(text.contains("config/lot.toml, config/x.toml"), "{text}");
    assert!(text.contains("PARKING__LOT__ZONE"), "{text}");
    assert!(text.contains("unknown key `lot.zone_typo`"), "the typo is offered as a hint: {text}");
}

#[test]
fn a_wrong_type_names_where_it_came_from() {
    let err = load(&[("config/lot.toml", BASE)], &[("PARKING__BROKER__PORT", "not-a-port")]).unwrap_err();
    match &err {
        ConfigError::Invalid { origin, key, .. } => {
            assert_eq!(origin, "PARKING__BROKER__PORT");
            assert_eq!(key, "broker.port");
        }
        other => panic!("{other}"),
    }
    let bad_id = BASE.replace("\"hn-01\"", "\"HN/01\"");
    let err = load(&[("config/lot.toml", &bad_id)], &[]).unwrap_err().to_string();
    assert!(err.starts_with("config/lot.toml: key `lot.id`: lot id \"HN/01\""), "{err}");
    let err = load(&[("config/lot.toml", &BASE.replace("400", "70000"))], &[]).unwrap_err().to_string();
    assert!(err.contains("key `lanes[0].pulse_ms`") || err.contains("key `lanes.0.pulse_ms`"), "{err}");
}

#[test]
fn bad_toml_and_bad_variables_are_named() {
    let err = load(&[("config/broken.toml", "[lot\nid = 1")], &[]).unwrap_err();
    assert!(matches!(&err, ConfigError::Syntax { origin, .. } if origin == "config/broken.toml"), "{err}");
    let err = load(&[("config/lot.toml", BASE)], &[("PARKING__BROKER____PORT", "1")]).unwrap_err();
    assert!(matches!(&err, ConfigError::BadEnv { name, .. } if name == "PARKING__BROKER____PORT"), "{err}");
}

#[test]
fn toml_dates_read_as_strings() {
    #[derive(Deserialize)]
    struct D {
        day: String,
        at: crate::timestamp::TimeOfDay,
    }
    let d: D = Loader::new().file("f", "day = 2026-11-22\nat = 06:30:00").load().unwrap();
    assert_eq!(d.day, "2026-11-22");
    assert_eq!(d.at.to_string(), "06:30");
}
