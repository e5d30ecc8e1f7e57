//! The workspace's structure, checked on its sources: no cycle between
//! the files of a crate (two files that each name the other's items), no
//! source file over 400 lines, and a `//!` doc at every crate and module
//! root naming its parts.
//!
//! A file's references are the paths it writes (`crate::a::b`,
//! `super::c`, `self::d`, brace groups included); each resolves to the
//! deepest file module it names. A module and the modules inside it are
//! one room, so references between a `mod.rs` and its own children are
//! containment, not a cycle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use parking_tests::bins::repo_root;

const CRATES: [&str; 7] = ["core", "runtime", "tag-reader", "controller", "lot-server", "sim", "verifier"];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                // Build output (a fuzz crate's own target/) is not source.
                if !name.starts_with("target") && !name.starts_with('.') {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The module path of a library file (`src/a/b.rs`, `src/a/b/mod.rs` → `a::b`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    match last.as_str() {
        "mod.rs" | "lib.rs" => {}
        other => parts.push(other.trim_end_matches(".rs").to_owned()),
    }
    parts
}

/// The paths a source names: each `crate::…`, `super::…` or `self::…`
/// path, brace groups expanded one level, as module paths from the crate
/// root.
fn references(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Comments and doc text name modules without depending on them.
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
    let bytes = code.as_bytes();
    for (start, anchor) in [("crate::", 0usize), ("super::", 1), ("self::", 2)] {
        let mut from = 0;
        while let Some(found) = code[from..].find(start) {
            let at = from + found;
            from = at + start.len();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_' || bytes[at - 1] == b':') {
                continue;
            }
            let mut base: Vec<String> = match anchor {
                0 => Vec::new(),
                // `super` of `a/b.rs` is `a`; of `a/b/mod.rs` also `a`.
                1 => here[..here.len().saturating_sub(1)].to_vec(),
                _ => here.to_vec(),
            };
            let rest = &code[from..];
            // Further `super::` hops.
            let mut rest = rest;
            while anchor == 1 && rest.starts_with("super::") {
                base.pop();
                rest = &rest["super::".len()..];
            }
            let mut path = base.clone();
            let mut chars = rest;
            loop {
                let ident: String = chars.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if ident.is_empty() {
                    if let Some(group) = chars.strip_prefix('{') {
                        let end = group.find('}').unwrap_or(group.len());
                        for item in group[..end].split(',') {
                            let mut p = path.clone();
                            for ident in item.trim().split("::") {
                                let ident: String =
                                    ident.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                                if ident.is_empty() || ident == "self" {
                                    break;
                                }
                                p.push(ident);
                            }
                            out.push(p);
                        }
                    }
                    break;
                }
                chars = &chars[ident.len()..];
                path.push(ident);
                match chars.strip_prefix("::") {
                    Some(more) => chars = more,
                    None => break,
                }
            }
            out.push(path);
        }
    }
    out
}

/// What a module re-exports (`pub use child::Item`): (module, name) →
/// the path it stands for.
type Reexports = BTreeMap<(Vec<String>, String), Vec<String>>;

/// The `pub use` / `pub(crate) use` / `pub(super) use` lines of a file,
/// each name mapped to the full path it re-exports.
fn reexports_of(text: &str, here: &[String], out: &mut Reexports) {
    for line in text.lines() {
        let line = line.trim();
        let Some(rest) = ["pub use ", "pub(crate) use ", "pub(super) use "].iter().find_map(|p| line.strip_prefix(p))
        else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        // A child's path is relative to this module.
        let anchored = if rest.starts_with("crate::") || rest.starts_with("super::") || rest.starts_with("self::") {
            rest.to_owned()
        } else {
            format!("self::{rest}")
        };
        for path in references(&anchored, here) {
            if let Some(name) = path.last() {
                out.insert((here.to_vec(), name.clone()), path.clone());
            }
        }
    }
}

/// The deepest file module that `path` names, following re-exports to
/// the file that defines the item.
fn resolve(path: &[String], files: &BTreeMap<Vec<String>, PathBuf>, reexports: &Reexports) -> Option<Vec<String>> {
    let mut path = path.to_vec();
    for _ in 0..8 {
        let module = (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| files.contains_key(p))?;
        let Some(next) = path.get(module.len()) else { return Some(module) };
        match reexports.get(&(module.clone(), next.clone())) {
            Some(target) if target != &path[..=module.len()] => {
                let mut p = target.clone();
                p.extend_from_slice(&path[module.len() + 1..]);
                path = p;
            }
            _ => return Some(module),
        }
    }
    None
}

type Edges = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

/// The cycles among one crate's files, each as its files' names.
fn cycles(src: &Path) -> Vec<Vec<String>> {
    cycles_and_edges(src).0
}

/// The cycles, and every reference between two files of the crate.
fn cycles_and_edges(src: &Path) -> (Vec<Vec<String>>, Edges) {
    let files: BTreeMap<Vec<String>, PathBuf> = sources(src)
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n != "main.rs") && !f.starts_with(src.join("bin")))
        .map(|f| (module_of(src, &f), f))
        .collect();
    let texts: BTreeMap<&Vec<String>, String> =
        files.iter().map(|(m, f)| (m, std::fs::read_to_string(f).unwrap())).collect();
    let mut reexports = Reexports::new();
    for (module, text) in &texts {
        reexports_of(text, module, &mut reexports);
    }
    let mut edges = Edges::new();
    for (module, text) in &texts {
        let module: &Vec<String> = module;
        for r in references(text, module) {
            let Some(target) = resolve(&r, &files, &reexports) else { continue };
            // A module and what it contains are one room.
            if target.starts_with(module) || module.starts_with(&target) {
                continue;
            }
            edges.entry(module.clone()).or_default().insert(target);
        }
    }
    // Tarjan's strongly connected components.
    struct State<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<Vec<String>, usize>,
        low: BTreeMap<Vec<String>, usize>,
        stack: Vec<Vec<String>>,
        on_stack: BTreeSet<Vec<String>>,
        found: Vec<Vec<String>>,
    }
    fn visit(s: &mut State<'_>, v: &Vec<String>) {
        let n = s.index.len();
        s.index.insert(v.clone(), n);
        s.low.insert(v.clone(), n);
        s.stack.push(v.clone());
        s.on_stack.insert(v.clone());
        let next: Vec<Vec<String>> = s.edges.get(v).map(|e| e.iter().cloned().collect()).unwrap_or_default();
        for w in next {
            if !s.index.contains_key(&w) {
                visit(s, &w);
                let lw = s.low[&w];
                let lv = s.low[v];
                s.low.insert(v.clone(), lv.min(lw));
            } else if s.on_stack.contains(&w) {
                let iw = s.index[&w];
                let lv = s.low[v];
                s.low.insert(v.clone(), lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(&w);
                let done = &w == v;
                component.push(w.join("::"));
                if done {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in files.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    (s.found, edges)
}

#[test]
fn no_crate_has_a_cycle_between_its_files() {
    let mut all = Vec::new();
    for krate in CRATES {
        let (found, edges) = cycles_and_edges(&repo_root().join(krate).join("src"));
        for c in found {
            // Which file names which, inside the cycle: where to cut it.
            let inside: Vec<String> = edges
                .iter()
                .flat_map(|(from, to)| to.iter().map(move |t| (from.join("::"), t.join("::"))))
                .filter(|(f, t)| c.contains(f) && c.contains(t))
                .map(|(f, t)| format!("{f} -> {t}"))
                .collect();
            all.push(format!("{krate}: {} ({})", c.join(" <-> "), inside.join(", ")));
        }
    }
    assert!(all.is_empty(), "module cycles:\n{}", all.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let dir = std::env::temp_dir().join(format!("parking-structure-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "//! x\nmod a;\nmod b;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "//! a\npub mod c;\nuse crate::b::B;\n").unwrap();
    std::fs::write(dir.join("a/c.rs"), "//! c\nuse super::super::b;\n").unwrap();
    std::fs::write(dir.join("b.rs"), "//! b\nuse crate::{a::c::C, x};\n").unwrap();
    // d uses an item e re-exports from its child f, which uses d.
    std::fs::create_dir_all(dir.join("e")).unwrap();
    std::fs::write(dir.join("d.rs"), "//! d\nfn g() { crate::e::F::new(); }\n").unwrap();
    std::fs::write(dir.join("e/mod.rs"), "//! e\nmod f;\npub use f::F;\n").unwrap();
    std::fs::write(dir.join("e/f.rs"), "//! f\nuse crate::d::D;\n").unwrap();
    let found = cycles(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        vec![vec!["a::c".to_owned(), "b".to_owned()], vec!["d".to_owned(), "e::f".to_owned()]],
        "{found:?}"
    );
}

#[test]
fn no_source_file_is_over_400_lines() {
    let mut long = Vec::new();
    for krate in CRATES.iter().copied().chain(["tests", "fuzz"]) {
        for f in sources(&repo_root().join(krate)) {
            let n = std::fs::read_to_string(&f).unwrap().lines().count();
            if n > 400 {
                long.push(format!("{} ({n} lines)", f.strip_prefix(repo_root()).unwrap().display()));
            }
        }
    }
    assert!(long.is_empty(), "over 400 lines: {}", long.join(", "));
}

#[test]
fn every_crate_and_module_root_says_what_it_holds() {
    let mut bare = Vec::new();
    for krate in CRATES.iter().copied().chain(["tests"]) {
        for f in sources(&repo_root().join(krate).join("src")) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let has_children = f.with_extension("").is_dir();
            if matches!(name.as_str(), "lib.rs" | "main.rs" | "mod.rs") || has_children {
                let text = std::fs::read_to_string(&f).unwrap();
                if !text.trim_start().starts_with("//!") {
                    bare.push(f.strip_prefix(repo_root()).unwrap().display().to_string());
                }
            }
        }
    }
    assert!(bare.is_empty(), "module roots without a //! doc: {}", bare.join(", "));
}

/// The crates a package's normal build compiles, as `cargo tree` lists them.
fn tree(package: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = std::process::Command::new(cargo)
        .args(["tree", "--offline", "-p", package, "-e", "normal", "--prefix", "none"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree -p {package}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn has_crate(tree: &str, name: &str) -> bool {
    tree.lines().any(|l| l.split_whitespace().next() == Some(name))
}

#[test]
fn each_process_builds_only_what_it_runs() {
    let server = tree("lot-server");
    for name in ["tag-reader", "rxing", "rqrr", "tokio-serial"] {
        assert!(!has_crate(&server, name), "lot-server builds {name}");
    }
    let controller = tree("controller");
    for name in ["rxing", "rqrr", "image"] {
        assert!(!has_crate(&controller, name), "the controller builds {name} with its default features");
    }
    assert!(!has_crate(&controller, "sqlx-postgres"), "the controller's sqlx is SQLite only");
    // The checker sees what is there.
    assert!(has_crate(&tree("tag-reader"), "rxing"), "tag-reader's default feature `qr` builds rxing");
}
