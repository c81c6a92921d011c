//! The whole front end (load, schema, parse, analyze) on mutated spec examples: every string
//! value replaced in turn by a tricky one. No panic, and every finding located in the source.

use std::path::PathBuf;

use serde_json::Value;

use crate::frontend::check_source;
use crate::source::Source;

/// Replacement strings that stress the analyzer: broken and empty expressions, secrets, odd
/// durations, names, and text with multibyte characters and escapes.
const TRICKY: [&str; 12] = [
    "${",
    "${ }",
    "${ $secrets[ }",
    "${ $secrets.\"é\" + $nope }",
    "${ \"\\(\" }",
    "P1Y2M",
    "P99999999999999999999999D",
    "end",
    "exit",
    "täsk",
    "${ .a | lenght }",
    "line\nbreak ${ x",
];

fn examples() -> Vec<PathBuf> {
    crate::test_support::spec_documents("examples")
}

/// Pointers of every string value, in document order.
fn string_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::String(_) => out.push(at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_pointers(item, crate::pointer::join_index(&at, i), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                string_pointers(item, crate::pointer::join(&at, key), out);
            }
        }
        _ => {}
    }
}

#[test]
fn mutated_examples_never_panic_and_findings_are_located() {
    let mut runs = 0;
    let mut semantic = 0;
    let paths = examples();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let source = Source::new("example.yaml", text.as_str());
        let Ok(loaded) = crate::yaml::load(&source) else {
            continue;
        };
        let mut pointers = Vec::new();
        string_pointers(&loaded.value, String::new(), &mut pointers);
        for (n, at) in pointers.iter().enumerate() {
            // Mutate through the JSON form (valid YAML too), so any string can be replaced.
            let mut value = loaded.value.clone();
            if let Some(slot) = value.pointer_mut(at) {
                *slot = Value::String(TRICKY[(n + runs) % TRICKY.len()].to_string());
            }
            let json = serde_json::to_string_pretty(&value).unwrap_or_default();
            let checked = check_source(Source::new("mutated.json", json.as_str()));
            runs += 1;
            for diagnostic in &checked.diagnostics {
                if ["expr::", "ref::", "duration::", "flow::"]
                    .iter()
                    .any(|family| diagnostic.code.starts_with(family))
                {
                    semantic += 1;
                }
                let span = diagnostic
                    .span
                    .unwrap_or_else(|| panic!("{}: {at}: no span: {diagnostic:?}", path.display()));
                assert!(
                    json.get(span.start..span.end).is_some(),
                    "{}: {at}: span {span:?} is off the text or char boundaries",
                    path.display()
                );
            }
        }
    }
    println!("{runs} mutated documents checked, {semantic} semantic findings");
    // The mutations must reach the analyzer, or this test proves nothing about it.
    assert!(
        paths.is_empty() || semantic > 100,
        "only {semantic} semantic findings"
    );
}
