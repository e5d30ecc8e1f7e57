//! Layered configuration: TOML files, then `PARKING__SECTION__KEY`
//! environment overrides, deserialised once into typed settings.
//!
//! This module is pure: the caller reads the files and the environment at
//! start-up and hands the texts in. Every error names the key and the file
//! (or variable) it came from: a typo, a missing key, a wrong type, bad
//! TOML. Unknown keys are errors, not warnings, because a misspelt key
//! otherwise falls back to a default without anyone noticing.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// The prefix of environment overrides; `__` separates the levels, so
/// `PARKING__BROKER__PORT=1884` sets `broker.port`.
pub const ENV_PREFIX: &str = "PARKING__";

/// Why the configuration could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{origin}: cannot read: {message}")]
    Read { origin: String, message: String },
    #[error("{origin}: not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}: key `{key}`: {message}{hint}")]
    Invalid { origin: String, key: String, message: String, hint: String },
    #[error("missing key `{key}`: set it in {searched} or with {env}{hint}")]
    Missing { key: String, searched: String, env: String, hint: String },
    #[error("{origin}: unknown key `{key}` (misspelt, or in the wrong section?)")]
    Unknown { origin: String, key: String },
    #[error("environment variable {name}: {reason}")]
    BadEnv { name: String, reason: String },
}

/// Collects configuration layers; later layers override earlier ones.
#[derive(Debug, Default, Clone)]
pub struct Loader {
    /// (origin, text) of each TOML layer, in order.
    files: Vec<(String, String)>,
    /// `PARKING__…` variables only, in order.
    env: Vec<(String, String)>,
}

impl Loader {
    pub fn new() -> Self {
        Loader::default()
    }

    /// Adds a TOML layer; `origin` (usually the path) is named in errors.
    pub fn file(mut self, origin: impl Into<String>, text: impl Into<String>) -> Self {
        self.files.push((origin.into(), text.into()));
        self
    }

    /// Adds one layer per path, read with `read` (the caller passes
    /// the standard library's file reader; this crate does no I/O). A file
    /// that cannot be read is an error that names it.
    pub fn files<P, F>(mut self, paths: &[P], read: F) -> Result<Self, ConfigError>
    where
        P: AsRef<std::path::Path>,
        F: Fn(std::path::PathBuf) -> std::io::Result<String>,
    {
        for path in paths {
            let path = path.as_ref();
            let origin = path.display().to_string();
            let text = read(path.to_path_buf())
                .map_err(|e| ConfigError::Read { origin: origin.clone(), message: e.to_string() })?;
            self.files.push((origin, text));
        }
        Ok(self)
    }

    /// Adds environment overrides; variables without the prefix are ignored.
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let picked = vars.into_iter().map(|(k, v)| (k.into(), v.into())).filter(|(k, _)| k.starts_with(ENV_PREFIX));
        self.env.extend(picked);
        self.env.sort();
        self
    }

    /// Merges the layers and deserialises them into `T`.
    pub fn load<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let mut merged = Table::new();
        let mut origins = BTreeMap::new();
        for (origin, text) in &self.files {
            let table: Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax { origin: origin.clone(), message: e.to_string() })?;
            merge(&mut merged, table, "", origin, &mut origins);
        }
        for (name, raw) in &self.env {
            let path: Vec<String> = name[ENV_PREFIX.len()..].split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                let reason = "has an empty level; use PARKING__SECTION__KEY".to_owned();
                return Err(ConfigError::BadEnv { name: name.clone(), reason });
            }
            // Build `{a = {b = value}}` from the innermost level outwards.
            let mut overlay = Table::new();
            let mut value = env_value(raw);
            for (i, level) in path.iter().enumerate().rev() {
                if i == 0 {
                    overlay.insert(level.clone(), value);
                    break;
                }
                value = Value::Table(Table::from_iter([(level.clone(), value)]));
            }
            merge(&mut merged, overlay, "", name, &mut origins);
        }
        self.deserialize(merged, &origins)
    }

    fn deserialize<T: DeserializeOwned>(
        &self,
        merged: Table,
        origins: &BTreeMap<String, String>,
    ) -> Result<T, ConfigError> {
        let mut unknown: Vec<String> = Vec::new();
        // serde_ignored writes `?` for a level inside an Option; drop it so the
        // key reads as it is written in the file.
        let mut on_unknown = |path: serde_ignored::Path<'_>| {
            let key: Vec<String> = path.to_string().split('.').filter(|s| *s != "?").map(str::to_owned).collect();
            unknown.push(key.join("."));
        };
        let de = serde_ignored::Deserializer::new(Value::Table(merged), &mut on_unknown);
        let result: Result<T, _> = serde_path_to_error::deserialize(de);
        let origin_of = |key: &str| origin_for(origins, key).unwrap_or_else(|| self.all_origins());
        match result {
            Ok(value) => match unknown.first() {
                None => Ok(value),
                Some(key) => Err(ConfigError::Unknown { origin: origin_of(key), key: key.clone() }),
            },
            Err(err) => {
                let at = err.path().to_string();
                let message = err.inner().to_string();
                let hint = match unknown.first() {
                    Some(k) => format!(" (note: unknown key `{k}` in {}; a misspelling?)", origin_of(k)),
                    None => String::new(),
                };
                if let Some(field) = missing_field(&message) {
                    let key = if at == "." || at.is_empty() { field.to_owned() } else { format!("{at}.{field}") };
                    let env = format!("{ENV_PREFIX}{}", key.to_ascii_uppercase().replace('.', "__"));
                    return Err(ConfigError::Missing { key, searched: self.all_origins(), env, hint });
                }
                let key = if at == "." { "(top level)".to_owned() } else { at };
                let message = message.lines().next().unwrap_or_default().to_owned();
                Err(ConfigError::Invalid { origin: origin_of(&key), key, message, hint })
            }
        }
    }

    fn all_origins(&self) -> String {
        if self.files.is_empty() {
            return "a config file".to_owned();
        }
        self.files.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// Reads `PARKING__…` values as TOML when they parse (numbers, booleans,
/// arrays, quoted strings) and as a bare string otherwise.
fn env_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .map(normalise)
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// TOML dates and times become strings, so a field reads the same whether
/// the file wrote `2018-01-01` or `"2018-01-01"`.
fn normalise(v: Value) -> Value {
    match v {
        Value::Datetime(dt) => Value::String(dt.to_string()),
        Value::Array(a) => Value::Array(a.into_iter().map(normalise).collect()),
        Value::Table(t) => Value::Table(t.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        other => other,
    }
}

fn merge(into: &mut Table, from: Table, prefix: &str, origin: &str, origins: &mut BTreeMap<String, String>) {
    for (key, value) in from {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let value = normalise(value);
        match (into.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming)) => {
                merge(existing, incoming, &path, origin, origins);
            }
            (_, value) => {
                record(&value, &path, origin, origins);
                into.insert(key, value);
            }
        }
    }
}

fn record(value: &Value, path: &str, origin: &str, origins: &mut BTreeMap<String, String>) {
    origins.insert(path.to_owned(), origin.to_owned());
    if let Value::Table(t) = value {
        for (k, v) in t {
            record(v, &format!("{path}.{k}"), origin, origins);
        }
    }
}

/// The origin of `key`, or of its nearest ancestor that has one.
fn origin_for(origins: &BTreeMap<String, String>, key: &str) -> Option<String> {
    let mut k = key;
    loop {
        if let Some(o) = origins.get(k) {
            return Some(o.clone());
        }
        k = &k[..k.rfind(['.', '['])?];
    }
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests;
