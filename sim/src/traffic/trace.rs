//! Trace files: one visit per CSV row, with the header
//! `vehicle,class,credential,epc,plate,entry_at,exit_at,entry_gate,exit_gate`
//! and, optionally, `actor` and `pay_delay_s` after them. Times are RFC
//! 3339 with an offset; `credential` is `tag`, `ticket` or `pass`; `epc`
//! is empty for a ticket. A row that does not parse is an error naming
//! its line and column; nothing is skipped silently.

use std::io::{Read, Write};

use parking_core::{Epc, GateId, Plate, Timestamp, VehicleClass};
use serde::{Deserialize, Serialize};

use super::{Actor, CredentialKind, TrafficError, Visit};

#[derive(Serialize, Deserialize)]
struct Row {
    vehicle: u64,
    class: String,
    credential: CredentialKind,
    epc: String,
    plate: String,
    entry_at: String,
    exit_at: String,
    entry_gate: String,
    exit_gate: String,
    #[serde(default)]
    actor: Option<Actor>,
    #[serde(default)]
    pay_delay_s: Option<u32>,
}

/// Writes visits as a trace, with the optional columns.
pub fn write(visits: &[Visit], out: impl Write) -> Result<(), TrafficError> {
    let mut w = csv::Writer::from_writer(out);
    for v in visits {
        w.serialize(Row {
            vehicle: v.vehicle,
            class: v.class.as_str().to_owned(),
            credential: v.credential,
            epc: v.epc.as_ref().map(ToString::to_string).unwrap_or_default(),
            plate: v.plate.to_string(),
            entry_at: v.entry_at.local().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            exit_at: v.exit_at.local().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            entry_gate: v.entry_gate.to_string(),
            exit_gate: v.exit_gate.to_string(),
            actor: Some(v.actor),
            pay_delay_s: Some(v.pay_delay_s),
        })
        .map_err(|e| TrafficError::Io(std::io::Error::other(e)))?;
    }
    w.flush()?;
    Ok(())
}

/// Reads a trace; `file` names it in errors.
pub fn read(input: impl Read, file: &str) -> Result<Vec<Visit>, TrafficError> {
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let mut visits = Vec::new();
    for (i, row) in r.deserialize::<Row>().enumerate() {
        let line = u64::try_from(i).unwrap_or(u64::MAX) + 2;
        let bad = |why: String| TrafficError::Line { file: file.to_owned(), line, why };
        let row = row.map_err(|e| bad(e.to_string()))?;
        let time = |name: &str, v: &str| v.parse::<Timestamp>().map_err(|e| bad(format!("{name}: {e}")));
        let entry_at = time("entry_at", &row.entry_at)?;
        let exit_at = time("exit_at", &row.exit_at)?;
        if exit_at <= entry_at {
            return Err(bad(format!("exit_at {} is not after entry_at {}", row.exit_at, row.entry_at)));
        }
        let epc =
            if row.epc.is_empty() { None } else { Some(row.epc.parse::<Epc>().map_err(|e| bad(format!("epc: {e}")))?) };
        if epc.is_none() != (row.credential == CredentialKind::Ticket) {
            return Err(bad(format!(
                "a {} {} an epc",
                row.credential.as_str(),
                if epc.is_some() { "has no" } else { "needs" }
            )));
        }
        visits.push(Visit {
            vehicle: row.vehicle,
            class: row.class.parse::<VehicleClass>().map_err(|e| bad(format!("class: {e}")))?,
            credential: row.credential,
            epc,
            plate: row.plate.parse::<Plate>().map_err(|e| bad(format!("plate: {e}")))?,
            entry_at,
            exit_at,
            entry_gate: row.entry_gate.parse::<GateId>().map_err(|e| bad(format!("entry_gate: {e}")))?,
            exit_gate: row.exit_gate.parse::<GateId>().map_err(|e| bad(format!("exit_gate: {e}")))?,
            actor: row.actor.unwrap_or_default(),
            pay_delay_s: row.pay_delay_s.unwrap_or(20),
        });
    }
    Ok(visits)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::traffic::generate::{TrafficSettings, generate};

    #[test]
    fn a_trace_round_trips() {
        let visits = generate(&TrafficSettings { visits: 300, ..Default::default() }).unwrap();
        let mut buf = Vec::new();
        write(&visits, &mut buf).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with(
            "vehicle,class,credential,epc,plate,entry_at,exit_at,entry_gate,exit_gate,actor,pay_delay_s\n"
        ));
        assert_eq!(read(buf.as_slice(), "t.csv").unwrap(), visits);
    }

    #[test]
    fn the_nine_columns_alone_are_a_trace() {
        let text = "vehicle,class,credential,epc,plate,entry_at,exit_at,entry_gate,exit_gate\n\
                    1,car,ticket,,29A-123.45,2026-11-23T08:00:00+07:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n\
                    2,motorbike,tag,E28000000000000000000002,29-B1 234.56,2026-11-23T08:01:00+07:00,2026-11-23T18:00:00+07:00,entry-2,exit-1\n";
        let v = read(text.as_bytes(), "t.csv").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].actor, v[0].pay_delay_s, v[0].epc.is_none()), (Actor::Normal, 20, true));
        assert_eq!(v[1].exit_at.since(v[1].entry_at).whole_minutes(), 599);
    }

    #[test]
    fn a_bad_row_is_named_by_line() {
        let head = "vehicle,class,credential,epc,plate,entry_at,exit_at,entry_gate,exit_gate\n";
        let ok = "1,car,ticket,,29A-123.45,2026-11-23T08:00:00+07:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n";
        let cases = [
            ("2,car,ticket,,29A-123.45,2026-11-23 08:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n", "entry_at"),
            (
                "2,car,ticket,,29A-123.45,2026-11-23T10:00:00+07:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n",
                "not after",
            ),
            (
                "2,car,tag,,29A-123.45,2026-11-23T08:00:00+07:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n",
                "needs an epc",
            ),
            ("2,car,cash,,29A-123.45,2026-11-23T08:00:00+07:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n", "cash"),
            ("2,car,ticket,,ZZ,2026-11-23T08:00:00+07:00,2026-11-23T09:30:00+07:00,entry-1,exit-2\n", "plate"),
            ("2,car,ticket\n", "line 3"),
        ];
        for (row, want) in cases {
            let text = format!("{head}{ok}{row}");
            let e = read(text.as_bytes(), "day.csv").unwrap_err().to_string();
            assert!(e.starts_with("day.csv, line 3") && e.contains(want), "{e}");
        }
    }
}
