//! `dsl::unsupported-version`: the document must declare DSL 1.0.x or 1.0.0-alphaN (decision 1).

use super::Context;
use crate::diagnostic::Diagnostic;
use crate::pointer;

pub(crate) fn check(cx: &mut Context) {
    let dsl = &cx.document.meta.dsl;
    if is_supported(dsl) {
        return;
    }
    let help = if dsl.starts_with("0.") {
        "0.x versions are the old states-based DSL, which this tool does not read; \
         DSL 1.0 replaced states with task lists"
            .to_string()
    } else {
        "this tool reads DSL 1.0.x documents (and the 1.0.0 alphas); declare `dsl: '1.0.3'` if \
         the document follows DSL 1.0.3"
            .to_string()
    };
    cx.push(
        Diagnostic::error(
            "dsl::unsupported-version",
            format!("DSL version `{dsl}` is not supported"),
        )
        .at_pointer(pointer::join(&pointer::join("", "document"), "dsl"))
        .with_label("unsupported DSL version")
        .with_help(help),
    );
}

/// `1.0.<patch>` (no pre-release other than the 1.0.0 alphas), build metadata allowed.
fn is_supported(dsl: &str) -> bool {
    let version = dsl.split_once('+').map_or(dsl, |(version, _)| version);
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let Some(patch) = core.strip_prefix("1.0.") else {
        return false;
    };
    if !is_number(patch) {
        return false;
    }
    match pre {
        None => true,
        Some(pre) => {
            let alpha = pre
                .strip_prefix("alpha")
                .map(|n| n.strip_prefix('.').unwrap_or(n));
            patch == "0" && alpha.is_some_and(|n| n.is_empty() || is_number(n))
        }
    }
}

fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::test_support::{analyze_yaml, codes, pointed_text};

    #[test]
    fn accepts_1_0_x_and_the_alphas_only() {
        for ok in [
            "1.0.0",
            "1.0.3",
            "1.0.12",
            "1.0.0-alpha5",
            "1.0.0-alpha.1",
            "1.0.3+build",
        ] {
            assert!(is_supported(ok), "{ok}");
        }
        for bad in [
            "1.1.0",
            "2.0.0",
            "0.8.0",
            "1.0",
            "1.0.x",
            "1.0.1-alpha1",
            "1.0.0-rc1",
            "1.0.0-alphabet",
        ] {
            assert!(!is_supported(bad), "{bad}");
        }
    }

    #[test]
    fn reports_at_the_dsl_value() {
        let text = "document:\n  dsl: '1.2.0'\n  namespace: t\n  name: t\n  version: '1.0.0'\ndo:\n  - a:\n      set: {}\n";
        let (_, found) = analyze_yaml(text);
        assert_eq!(codes(&found), ["dsl::unsupported-version"]);
        assert!(found[0].message.contains("`1.2.0`"), "{}", found[0].message);
        assert_eq!(pointed_text(text, &found[0]), "'1.2.0'");
    }
}
