//! Helpers for tests of parsers of outside bytes, shared by the crates'
//! hostile-input tests. Not part of the domain.

/// `base` with each edit applied in turn: `(at, byte, op)` replaces
/// (`op % 3 == 0`), inserts (1) or removes (2) the byte at `at` (modulo
/// the length); an empty input gets `byte`.
pub fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut out = base.to_vec();
    for (at, byte, op) in edits {
        if out.is_empty() {
            out.push(*byte);
            continue;
        }
        let i = at % out.len();
        match op % 3 {
            0 => out[i] = *byte,
            1 => out.insert(i, *byte),
            _ => {
                out.remove(i);
            }
        }
    }
    out
}
