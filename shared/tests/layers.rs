//! The crate's modules import one way: a module never reaches up to one that depends on it, and
//! nothing below the HTTP edge speaks HTTP. Read from the sources, so a new `use` that breaks
//! the layering fails here, with the path of imports that closes the circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module's layer; a module may use modules of its own layer or below.
const LAYERS: &[(&str, u8)] = &[
    ("domain", 0),
    ("clock", 0),
    ("aws", 0),
    ("metrics", 0),
    ("telemetry", 0),
    ("stream", 0),
    ("store", 1),
    ("schema", 1),
    ("customers", 2),
    ("seats", 2),
    ("memberships", 2),
    ("accounts", 2),
    ("sessions", 2),
    ("quota", 2),
    ("roles", 2),
    ("links", 2),
    ("invitations", 2),
    ("deliveries", 2),
    ("deleted_accounts", 2),
    ("invitation_counts", 2),
    ("access", 3),
    ("activity", 3),
    ("notices", 3),
    ("recipients", 3),
    ("events", 3),
    ("emails", 3),
    ("usecases", 4),
    ("recorder", 4),
    ("http", 5),
    ("testing", 6),
];

/// The top-level modules each module's code (tests left out) names through `crate::`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let known: BTreeSet<&str> = LAYERS.iter().map(|(name, _)| *name).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") || path == src.join("lib.rs") {
            continue;
        }
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        assert!(
            known.contains(module.as_str()),
            "the module `{module}` has no layer in this test"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        // Code only: tests and comments (doc links may point anywhere) left out.
        let code: String = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let used = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let mut names = Vec::new();
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a::X, b};`
                let group = &group[..group.find('}').unwrap_or(group.len())];
                names.extend(
                    group
                        .split(',')
                        .map(|part| part.trim().split("::").next().unwrap_or("")),
                );
            } else {
                names.push(
                    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or(""),
                );
            }
            for name in names {
                if name != module && known.contains(name) {
                    used.insert(name.to_owned());
                }
            }
        }
    }
    graph
}

#[test]
fn modules_import_only_their_own_layer_or_below() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    for (module, used) in imports() {
        for other in used {
            assert!(
                layer[other.as_str()] <= layer[module.as_str()],
                "`{module}` (layer {}) imports `{other}` (layer {})",
                layer[module.as_str()],
                layer[other.as_str()]
            );
        }
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = imports();
    // Depth-first search for a back edge; the path names the circle.
    fn visit(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(start) = path.iter().position(|m| m == module) {
            panic!("import cycle: {} -> {module}", path[start..].join(" -> "));
        }
        if done.contains(module) {
            return;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
        done.insert(module.to_owned());
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        visit(module, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn nothing_below_the_http_edge_speaks_http() {
    for (module, used) in imports() {
        if module != "http" && module != "testing" {
            assert!(!used.contains("http"), "`{module}` imports `http`");
        }
    }
}

#[test]
fn the_reader_sees_an_import_it_is_shown() {
    // The parser itself: a grouped and a plain import are both seen.
    let graph = imports();
    assert!(graph["usecases"].contains("invitations"));
    assert!(graph["http"].contains("usecases"));
    assert!(graph["accounts"].contains("memberships"));
}
