//! The SQL both backends are written in: stored values decoded and
//! named, dates, JSON text, pages of a listing, and the dialect's few
//! differences (locking reads, statement chunking, placeholders).

use std::str::FromStr;

use super::Backend;

/// A decode error naming what was stored wrong.
pub(crate) fn decode_error(what: &str, e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("stored {what}: {e}").into())
}

/// A value stored as text (an EPC, a plate, a class…), parsed back.
pub(crate) fn parse_stored<T: FromStr>(what: &str, s: &str) -> Result<T, sqlx::Error>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| decode_error(what, e))
}

/// How dates are stored: `YYYY-MM-DD`.
pub(crate) const ISO_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A value as the JSON text a column holds.
pub(crate) fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A listing's page: `limit` 1 to 1,000 (100 if absent), `offset` from 0.
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), String> {
    let (limit, offset) = (limit.unwrap_or(100), offset.unwrap_or(0));
    if !(1..=1000).contains(&limit) {
        return Err(format!("limit must be 1 to 1000, not {limit}"));
    }
    if offset < 0 {
        return Err(format!("offset must not be negative, not {offset}"));
    }
    Ok((limit, offset))
}

/// Rows per multi-row statement: well under both databases' limits on
/// bound parameters (SQLite 32,766, PostgreSQL 65,535).
pub(crate) const CHUNK: usize = 64;

/// Splits `items` into runs of power-of-two lengths, at most `max` long
/// (37 → 32, 4, 1).
pub(crate) fn pow2_chunks<T>(items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut n = max.min(rest.len()).max(1);
        n = 1 << (usize::BITS - 1 - n.leading_zeros());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        Some(chunk)
    })
}

impl Backend {
    /// ` FOR UPDATE` on PostgreSQL, for a read whose rows the transaction
    /// will write; nothing on SQLite, whose write transaction locks the
    /// whole database already.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// How a multi-row statement splits `items`, at most `max` rows each.
    /// A statement's text depends on its row count. On SQLite, runs of
    /// power-of-two lengths keep the texts few, so the prepared statements
    /// are cached and reused (bench-ingest p99 45 → 32 ms). PostgreSQL
    /// fared worse with that (its generic plans: p99 60 → 165-300 ms), so
    /// there it is plain runs of `max`, prepared afresh each time.
    pub(crate) fn chunks<T>(self, items: &[T], max: usize) -> Box<dyn Iterator<Item = &[T]> + Send + '_>
    where
        T: Sync,
    {
        match self {
            Backend::Sqlite => Box::new(pow2_chunks(items, max)),
            Backend::Postgres => Box::new(items.chunks(max)),
        }
    }

    /// Whether multi-row statements are kept prepared: see [`Backend::chunks`].
    pub(crate) fn cache_statements(self) -> bool {
        self == Backend::Sqlite
    }

    /// `($1, $2, …), ($k, …)` for `rows` rows of `cols` parameters
    /// (`(?, ?, …)` on SQLite, see [`Backend::params`]).
    pub(crate) fn placeholders(self, rows: usize, cols: usize) -> String {
        let mut s = String::with_capacity(rows * cols * 5);
        for r in 0..rows {
            if r > 0 {
                s.push_str(", ");
            }
            s.push('(');
            s.push_str(&self.params(r * cols + 1, cols));
            s.push(')');
        }
        s
    }

    /// `$first, $first+1, …`: `n` parameters, e.g. for `x IN (…)`. On
    /// SQLite, anonymous `?`s bound in order: sqlx looks each `$n` up by
    /// name, which SQLite answers by a linear scan, so a statement of a
    /// thousand `$n` spent most of a commit in `strncmp` (measured with
    /// perf: a quarter of the bench's CPU).
    pub(crate) fn params(self, first: usize, n: usize) -> String {
        match self {
            Backend::Sqlite => vec!["?"; n].join(", "),
            Backend::Postgres => (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", "),
        }
    }
}
