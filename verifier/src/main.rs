//! `journal-verify --public-key HEX FILE`: checks a journal exported by
//! `lot-server ledger export`. Exit 0 and a JSON summary when it
//! verifies; exit 1 and where it was tampered with when it does not.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (key, file) = match args.as_slice() {
        [flag, key, file] if flag == "--public-key" => (key, file),
        _ => {
            eprintln!("usage: journal-verify --public-key HEX JOURNAL.jsonl");
            return ExitCode::from(2);
        }
    };
    let key = match journal_verify::public_key(key) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let input = match std::fs::File::open(file) {
        Ok(f) => std::io::BufReader::new(f),
        Err(e) => {
            eprintln!("error: {file}: {e}");
            return ExitCode::from(2);
        }
    };
    match journal_verify::verify(input, &key) {
        Ok(s) => {
            println!(
                "{}",
                serde_json::json!({ "ok": true, "lot": s.lot, "records": s.records, "seals": s.seals, "last_hash": s.last_hash })
            );
            ExitCode::SUCCESS
        }
        Err(p) => {
            println!("{}", serde_json::json!({ "ok": false, "problem": p.to_string() }));
            ExitCode::from(1)
        }
    }
}
