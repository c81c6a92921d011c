//! Small text helpers every run reporter shares: durations, plurals, colour.

use std::time::Duration;

/// A duration as people read it: `412ms`, `3.70s`, `12.3s`, `2m05s`, `1h02m`.
pub fn duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs_f64();
    if seconds < 10.0 {
        return format!("{seconds:.2}s");
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let whole = duration.as_secs();
    if whole < 3600 {
        return format!("{}m{:02}s", whole / 60, whole % 60);
    }
    format!("{}h{:02}m", whole / 3600, (whole % 3600) / 60)
}

/// `1 retry`, `3 retries`.
pub fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The text styles reporters use; all of them plain when colour is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    Good,
    Bad,
    Warn,
    Dim,
    Bold,
    Accent,
}

/// `text` in `paint` when `color` is on, unchanged otherwise.
pub fn paint(text: &str, paint: Paint, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let style = console::Style::new().force_styling(true);
    let style = match paint {
        Paint::Good => style.green(),
        Paint::Bad => style.red().bold(),
        Paint::Warn => style.yellow(),
        Paint::Dim => style.dim(),
        Paint::Bold => style.bold(),
        Paint::Accent => style.cyan(),
    };
    style.apply_to(text).to_string()
}

/// A task's path as people name it: the task names from the workflow's top down, without the
/// JSON pointer's structure (`/do/2/each/do/0/add` is `each/add`, a `fork` branch or a `try`
/// block is named the same way). A pointer without task names is returned as it is.
pub fn task_name_path(pointer: &str) -> String {
    let mut names = Vec::new();
    let mut previous: Option<&str> = None;
    for segment in pointer.split('/').skip(1) {
        let after_index =
            previous.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if after_index || previous == Some("functions") {
            names.push(segment.replace("~1", "/").replace("~0", "~"));
        }
        previous = Some(segment);
    }
    if names.is_empty() {
        return pointer.to_string();
    }
    names.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_name_paths_keep_only_the_names() {
        assert_eq!(task_name_path("/do/0/fetch"), "fetch");
        assert_eq!(task_name_path("/do/2/each/do/0/add"), "each/add");
        assert_eq!(
            task_name_path("/do/1/both/fork/branches/0/left"),
            "both/left"
        );
        assert_eq!(
            task_name_path("/do/0/guard/try/1/step/catch/do/0/fix"),
            "guard/step/fix"
        );
        assert_eq!(task_name_path("/do/0/a~1b"), "a/b");
        assert_eq!(task_name_path("/"), "/");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(Duration::from_millis(0)), "0ms");
        assert_eq!(duration(Duration::from_millis(412)), "412ms");
        assert_eq!(duration(Duration::from_millis(3700)), "3.70s");
        assert_eq!(duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn paint_is_plain_without_colour() {
        assert_eq!(paint("ok", Paint::Good, false), "ok");
        let painted = paint("ok", Paint::Good, true);
        assert!(
            painted.contains("\u{1b}[") && painted.contains("ok"),
            "{painted:?}"
        );
        assert_eq!(plural(1, "retry", "retries"), "1 retry");
        assert_eq!(plural(2, "retry", "retries"), "2 retries");
    }
}
