//! Fuzz target `load`: arbitrary bytes through the file path's UTF-8 handling and the YAML loader,
//! checking the loader's promises rather than only "does not crash".
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use workflow::source::{Source, Span};
use workflow::yaml;

fuzz_target!(|data: &[u8]| {
    // What `Source::read` does once the bytes are in memory: UTF-8 and blank checks.
    match Source::from_bytes("fuzz.yaml", data.to_vec()) {
        Ok(source) => check(&source),
        Err(diagnostic) => {
            assert!(diagnostic.code.starts_with("io::") || diagnostic.code == "yaml::empty");
        }
    }
    // The loader also sees text `from_bytes` refuses (blank, or repaired invalid UTF-8).
    let text = String::from_utf8_lossy(data).into_owned();
    check(&Source::new("fuzz.yaml", text));
});

fn check(source: &Source) {
    match yaml::load(source) {
        Ok(loaded) => {
            check_pointers(source, &loaded);
            // The only findings a load goes on after are located duplicate keys.
            for diagnostic in &loaded.diagnostics {
                assert_eq!(diagnostic.code, "yaml::duplicate-key", "{diagnostic:?}");
                assert!(diagnostic.is_error());
                assert_in_text(source, diagnostic.span.expect("located"));
            }
            // The JSON form of what we loaded loads back, cleanly, to the same value.
            let json = serde_json::to_string(&loaded.value).expect("a loaded value serializes");
            let again = yaml::load(&Source::new("again.json", json.clone()))
                .unwrap_or_else(|d| panic!("JSON output does not load again: {d:?}\n{json}"));
            assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
            assert_eq!(
                again.value, loaded.value,
                "round trip changed the value\n{json}"
            );
        }
        Err(diagnostic) => {
            assert!(diagnostic.code.starts_with("yaml::"), "{diagnostic:?}");
            let span = diagnostic.span.expect("loader diagnostics are located");
            assert_in_text(source, span);
        }
    }
}

/// Every pointer of the value (the first few thousand) locates to a span inside the text.
fn check_pointers(source: &Source, loaded: &yaml::Loaded) {
    let root = loaded.spans.value("").expect("the root is indexed");
    assert_in_text(source, root);
    let mut pending = vec![(String::new(), &loaded.value)];
    let mut seen = 0;
    while let Some((pointer, value)) = pending.pop() {
        seen += 1;
        if seen > 5_000 {
            break;
        }
        for on_key in [false, true] {
            let span = loaded
                .spans
                .locate(&pointer, on_key)
                .expect("locate never fails");
            assert_in_text(source, span);
        }
        match value {
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    pending.push((workflow::pointer::join_index(&pointer, index), item));
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    pending.push((workflow::pointer::join(&pointer, key), item));
                }
            }
            _ => {}
        }
    }
}

fn assert_in_text(source: &Source, span: Span) {
    assert!(
        span.start <= span.end && span.end <= source.text.len(),
        "{span:?}"
    );
    assert!(source.text.is_char_boundary(span.start), "{span:?}");
    assert!(source.text.is_char_boundary(span.end), "{span:?}");
}
