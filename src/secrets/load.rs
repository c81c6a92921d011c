//! Where secret values come from (decision 9): the `--secrets FILE`s in the order given (JSON,
//! YAML or dotenv), then the `WORKFLOW_SECRET_<NAME>` environment variables; a later source
//! replaces the whole value of a name. Only the secrets the workflow declares are kept.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::dotenv;
use crate::source::Source;
use crate::yaml;

/// Secret name → value (a string, or an object for secret-based authentication).
pub type Secrets = BTreeMap<String, Value>;

/// Prefix of the environment variables holding secret values.
pub const ENV_PREFIX: &str = "WORKFLOW_SECRET_";

/// A secrets source that cannot be used. Every one is a usage error of the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read the secrets file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("malformed secrets file {path} (line {line}): {reason}")]
    Malformed {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("the secrets file {path} must map secret names to values, but it holds {found}")]
    NotAMap { path: String, found: &'static str },
    #[error("the environment variable {variable} is not valid UTF-8")]
    NotUnicode { variable: String },
}

/// How a secrets file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
    Dotenv,
}

impl Format {
    /// By extension; otherwise sniffed: a first line like `NAME=value` (after comments) is
    /// dotenv, anything else YAML (which reads JSON too).
    fn of(path: &Path, text: &str) -> Format {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase);
        match extension.as_deref() {
            Some("json") => Format::Json,
            Some("yaml" | "yml") => Format::Yaml,
            Some("env") => Format::Dotenv,
            _ if looks_like_dotenv(text) => Format::Dotenv,
            _ => Format::Yaml,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
            Format::Dotenv => "dotenv",
        }
    }
}

fn looks_like_dotenv(text: &str) -> bool {
    let first = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'));
    let Some(line) = first else {
        return false;
    };
    let line = match line.strip_prefix("export ") {
        Some(rest) => rest.trim_start(),
        None => line,
    };
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .unwrap_or(line.len());
    name_end > 0
        && line
            .get(name_end..)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The declared secrets' values from `files` then the process environment.
pub fn load(declared: &[String], files: &[PathBuf]) -> Result<Secrets, SecretsError> {
    load_from(declared, files, &|variable| {
        super::active::env_var(variable)
    })
}

/// [`load`] with the environment given as a lookup, so tests do not touch the process's own.
pub(crate) fn load_from(
    declared: &[String],
    files: &[PathBuf],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Secrets, SecretsError> {
    let mut secrets = Secrets::new();
    // Every file is read, even when nothing is declared: a broken file given on purpose is a
    // mistake worth reporting.
    for path in files {
        let entries = read_file(path)?;
        for name in declared {
            if let Some(value) = keys_of(name).iter().find_map(|key| entries.get(key)) {
                secrets.insert(name.clone(), value.clone());
            }
        }
    }
    for name in declared {
        for variable in env_variables(name) {
            let Some(raw) = env(&variable) else {
                continue;
            };
            let text = raw
                .into_string()
                .map_err(|_| SecretsError::NotUnicode { variable })?;
            secrets.insert(name.clone(), text_value(text));
            break;
        }
    }
    Ok(secrets)
}

/// The environment variable of a secret: the name upper-cased, every other character than ASCII
/// letters and digits turned into `_` (`api-key` → `WORKFLOW_SECRET_API_KEY`).
pub fn env_name(name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ENV_PREFIX}{tail}")
}

/// The variables read for a secret, first found wins: the normalised name, then the name as
/// written (`WORKFLOW_SECRET_apiKey`, which earlier versions read).
fn env_variables(name: &str) -> Vec<String> {
    let mut variables = vec![env_name(name)];
    let literal = format!("{ENV_PREFIX}{name}");
    if !variables.contains(&literal) {
        variables.push(literal);
    }
    variables
}

/// The keys a file entry may use for a secret: its name, or its environment variable (so a
/// dotenv file of `WORKFLOW_SECRET_X=...` lines works both sourced and as `--secrets`).
fn keys_of(name: &str) -> Vec<String> {
    let mut keys = vec![name.to_string()];
    for variable in env_variables(name) {
        if !keys.contains(&variable) {
            keys.push(variable);
        }
    }
    keys
}

/// A value given as text (environment, dotenv): a JSON object stays an object, so that
/// `{"username": "u", "password": "p"}` can feed secret-based authentication.
pub(crate) fn text_value(text: String) -> Value {
    if text.trim_start().starts_with('{')
        && let Ok(object @ Value::Object(_)) = serde_json::from_str::<Value>(&text)
    {
        return object;
    }
    Value::String(text)
}

/// The entries of one secrets file, by key.
fn read_file(path: &Path) -> Result<BTreeMap<String, Value>, SecretsError> {
    let shown = path.display().to_string();
    let unreadable = |reason: String| SecretsError::Unreadable {
        path: shown.clone(),
        reason,
    };
    if path.is_dir() {
        return Err(unreadable("it is a directory".into()));
    }
    // The same cap as documents: `--secrets /dev/zero` (or a FIFO that never ends) must not
    // fill the memory. One byte past it tells "at the cap" from "larger".
    let cap = crate::source::MAX_SOURCE_BYTES;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            std::io::Read::read_to_end(&mut std::io::Read::take(file, cap + 1), &mut bytes)
        })
        .map_err(|error| unreadable(error.to_string()))?;
    if bytes.len() as u64 > cap {
        return Err(unreadable(format!(
            "it is larger than {} MiB",
            cap / (1024 * 1024)
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8 text".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    match Format::of(path, text) {
        Format::Dotenv => {
            let entries = dotenv::parse(text).map_err(|error| SecretsError::Malformed {
                path: shown.clone(),
                line: error.line,
                reason: error.message,
            })?;
            Ok(entries
                .into_iter()
                .map(|entry| (entry.key, text_value(entry.value)))
                .collect())
        }
        format => structured(path, &shown, text, format),
    }
}

/// A JSON or YAML file: one map of names to values. A repeated name is refused.
fn structured(
    path: &Path,
    shown: &str,
    text: &str,
    format: Format,
) -> Result<BTreeMap<String, Value>, SecretsError> {
    // An empty or comment-only file gives nothing (the YAML loader calls it an error).
    let blank = |line: &str| line.trim().is_empty() || line.trim_start().starts_with('#');
    if text.lines().all(blank) {
        return Ok(BTreeMap::new());
    }
    let source = Source::new(path, text);
    let malformed = |diagnostic: &crate::diagnostic::Diagnostic| {
        let at = diagnostic.span.map(|span| source.position(span.start));
        SecretsError::Malformed {
            path: shown.to_string(),
            line: at.map_or(1, |at| at.line),
            reason: match at {
                Some(at) => format!(
                    "not valid {} at column {}: {}",
                    format.name(),
                    at.column,
                    diagnostic.message
                ),
                None => format!("not valid {}: {}", format.name(), diagnostic.message),
            },
        }
    };
    // YAML 1.2 reads JSON, but also accepts what JSON does not (`{"a": }`): a `.json` file
    // must be JSON. The YAML loader still reads it, for its refusal of repeated keys.
    if format == Format::Json
        && let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text)
    {
        let message = error.to_string();
        let place = format!(" at line {} column {}", error.line(), error.column());
        let message = message.strip_suffix(&place).unwrap_or(&message);
        return Err(SecretsError::Malformed {
            path: shown.to_string(),
            line: error.line().max(1),
            reason: format!("not valid JSON at column {}: {message}", error.column()),
        });
    }
    let loaded = yaml::load(&source).map_err(|diagnostic| malformed(&diagnostic))?;
    if let Some(diagnostic) = loaded.diagnostics.first() {
        return Err(malformed(diagnostic));
    }
    match loaded.value {
        Value::Object(map) => Ok(map.into_iter().collect()),
        // `---` or `null` alone: nothing either.
        Value::Null => Ok(BTreeMap::new()),
        other => Err(SecretsError::NotAMap {
            path: shown.to_string(),
            found: match other {
                Value::Array(_) => "a list",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| name.to_string()).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn file(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    fn tempdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn each_format_is_read_and_only_declared_secrets_are_kept() {
        let dir = tempdir();
        let json_file = file(&dir, "s.json", r#"{"a": "from json", "other": "x"}"#);
        let yaml_file = file(&dir, "s.yml", "b:\n  username: ada\n  password: pw\n");
        let env_file = file(&dir, "s.env", "# dotenv\nexport c='from env file'\n");
        let declared = names(&["a", "b", "c"]);
        let files = [json_file, yaml_file, env_file];
        let secrets = load_from(&declared, &files, &no_env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            json!(secrets),
            json!({
                "a": "from json",
                "b": {"username": "ada", "password": "pw"},
                "c": "from env file"
            })
        );
    }

    #[test]
    fn formats_without_a_known_extension_are_sniffed() {
        let dir = tempdir();
        let dotenv_file = file(&dir, "secrets", "\n# c\nexport TOKEN=abc\n");
        let yaml_file = file(&dir, "secrets.txt", "TOKEN: def\n");
        let json_file = file(&dir, "secrets.conf", "{\"TOKEN\": \"ghi\"}");
        let declared = names(&["TOKEN"]);
        let value = |path: &PathBuf| {
            load_from(&declared, std::slice::from_ref(path), &no_env)
                .map(|secrets| secrets.get("TOKEN").cloned())
        };
        assert_eq!(value(&dotenv_file), Ok(Some(json!("abc"))));
        assert_eq!(value(&yaml_file), Ok(Some(json!("def"))));
        assert_eq!(value(&json_file), Ok(Some(json!("ghi"))));
    }

    #[test]
    fn later_files_win_and_the_environment_wins_over_files() {
        let dir = tempdir();
        let first = file(&dir, "1.yaml", "a: one\nb: one\nc: one\n");
        let second = file(
            &dir,
            "2.env",
            "b=two\nWORKFLOW_SECRET_C={\"user\": \"u\"}\n",
        );
        let env = |variable: &str| match variable {
            "WORKFLOW_SECRET_A" => Some(OsString::from("from env")),
            _ => None,
        };
        let secrets = load_from(&names(&["a", "b", "c"]), &[first, second], &env)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            json!(secrets),
            json!({"a": "from env", "b": "two", "c": {"user": "u"}})
        );
    }

    #[test]
    fn environment_names_are_normalised_and_json_objects_parsed() {
        assert_eq!(env_name("api-key.v2"), "WORKFLOW_SECRET_API_KEY_V2");
        assert_eq!(env_name("ünï"), "WORKFLOW_SECRET__N_");
        let env = |variable: &str| match variable {
            "WORKFLOW_SECRET_API_KEY" => Some(OsString::from("k")),
            "WORKFLOW_SECRET_creds" => Some(OsString::from(r#"{"username":"u","password":"p"}"#)),
            "WORKFLOW_SECRET_NOTJSON" => Some(OsString::from("{not json")),
            _ => None,
        };
        let secrets = load_from(
            &names(&["api-key", "creds", "notJson", "absent"]),
            &[],
            &env,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            json!(secrets),
            json!({
                "api-key": "k",
                "creds": {"username": "u", "password": "p"},
                "notJson": "{not json"
            })
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_non_utf8_variable_is_refused() {
        use std::os::unix::ffi::OsStringExt;
        let env = |_: &str| Some(OsString::from_vec(vec![0xff, 0xfe]));
        assert_eq!(
            load_from(&names(&["x"]), &[], &env),
            Err(SecretsError::NotUnicode {
                variable: "WORKFLOW_SECRET_X".into()
            })
        );
    }

    #[test]
    fn malformed_files_name_the_file_and_line() {
        let dir = tempdir();
        let check = |name: &str, text: &str, line: usize, reason: &str| {
            let path = file(&dir, name, text);
            let error = load_from(&[], std::slice::from_ref(&path), &no_env)
                .err()
                .unwrap_or_else(|| panic!("{name} accepted"));
            let SecretsError::Malformed {
                path: shown,
                line: at,
                reason: why,
            } = &error
            else {
                panic!("{error:?}");
            };
            assert_eq!(shown, &path.display().to_string());
            assert_eq!(*at, line, "{error}");
            assert!(why.contains(reason), "{error}");
            assert!(
                error.to_string().starts_with("malformed secrets file "),
                "{error}"
            );
        };
        check(
            "bad.json",
            "{\n  \"a\": \"x\",\n  \"b\": \n",
            4,
            "not valid JSON",
        );
        check("bad.yaml", "a: 1\nb: [2\n", 3, "not valid YAML");
        check("dup.yaml", "a: 1\nb: 2\na: 3\n", 3, "duplicate key `a`");
        check("bad.env", "A=1\nB\n", 2, "expected `NAME=value`");
        // Valid YAML, not JSON.
        check(
            "lax.json",
            "{\"a\": 1,\n \"b\": }",
            2,
            "not valid JSON at column 7",
        );
        check(
            "comma.json",
            "{\"a\": 1,\n}",
            2,
            "column 1: key must be a string",
        );
        check("dup.json", "{\"a\": 1,\n \"a\": 2}", 2, "duplicate key `a`");
    }

    #[test]
    fn unusable_files_are_reported() {
        let dir = tempdir();
        let list = file(&dir, "list.yaml", "- a\n- b\n");
        assert_eq!(
            load_from(&[], std::slice::from_ref(&list), &no_env),
            Err(SecretsError::NotAMap {
                path: list.display().to_string(),
                found: "a list"
            })
        );
        let missing = dir.path().join("missing.env");
        let error = load_from(&[], &[missing], &no_env).err();
        assert!(
            matches!(&error, Some(SecretsError::Unreadable { path, .. }) if path.ends_with("missing.env")),
            "{error:?}"
        );
        let error = load_from(&[], &[dir.path().to_path_buf()], &no_env).err();
        assert!(
            matches!(&error, Some(SecretsError::Unreadable { reason, .. }) if reason == "it is a directory"),
            "{error:?}"
        );
        let binary = dir.path().join("bin.env");
        std::fs::write(&binary, [0xff, 0x00]).unwrap_or_else(|e| panic!("{e}"));
        let error = load_from(&[], &[binary], &no_env).err();
        assert!(
            matches!(&error, Some(SecretsError::Unreadable { reason, .. }) if reason.contains("UTF-8")),
            "{error:?}"
        );
        // Empty and comment-only files are fine: they give nothing.
        let empty = file(&dir, "empty.yaml", "# nothing yet\n");
        assert_eq!(
            load_from(&names(&["a"]), &[empty], &no_env),
            Ok(Secrets::new())
        );
    }
}
