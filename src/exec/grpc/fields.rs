//! Messages in the proto3 JSON mapping, both ways. Requests: every key must name a field (its
//! lowerCamelCase JSON name or its name in the proto), checked through nested messages, lists and
//! maps before conversion so that a typo is an error naming the field, the message and the
//! closest field, never a silently dropped value. Responses: lowerCamelCase names, 64-bit
//! integers as strings, enums by name, well-known types in their JSON forms, and fields left at
//! their default value included (so `.count` of a zero count is `0`, not absent).

use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    SerializeOptions,
};
use serde_json::Value;

use crate::diagnostic::did_you_mean;
use crate::problem::{ErrorKind, WorkflowError};

/// A key of the arguments that names no field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownField {
    /// Dotted path of the key within the arguments (`inner.nmae`, `items[2].x`).
    pub path: String,
    /// The same path as JSON pointer segments (`["inner", "nmae"]`, `["items", "2", "x"]`).
    pub segments: Vec<String>,
    /// The message it was looked up in.
    pub message: String,
    pub suggestion: Option<String>,
}

impl UnknownField {
    pub(crate) fn describe(&self) -> String {
        let hint = self
            .suggestion
            .as_ref()
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        format!("`{}` is not a field of `{}`{hint}", self.path, self.message)
    }
}

/// The first key of `value` (an object for `message`) that names no field, depth first.
/// Well-known types (Struct, Any, wrappers, ...) have JSON forms of their own and are not
/// looked into. Values of the wrong shape are left to the conversion, which reports them.
pub(crate) fn unknown_field(value: &Value, message: &MessageDescriptor) -> Option<UnknownField> {
    check_object(value, message, "", &[])
}

fn check_object(
    value: &Value,
    message: &MessageDescriptor,
    prefix: &str,
    segments: &[String],
) -> Option<UnknownField> {
    let Value::Object(entries) = value else {
        return None;
    };
    if message.full_name().starts_with("google.protobuf.") {
        return None;
    }
    for (key, item) in entries {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let mut inner = segments.to_vec();
        inner.push(key.clone());
        let field = message
            .get_field_by_json_name(key)
            .or_else(|| message.get_field_by_name(key));
        let Some(field) = field else {
            let names: Vec<String> = message.fields().map(|f| f.json_name().to_owned()).collect();
            return Some(UnknownField {
                path,
                segments: inner,
                message: message.full_name().to_owned(),
                suggestion: did_you_mean(key, names.iter().map(String::as_str)).map(str::to_owned),
            });
        };
        if let Some(found) = check_field(item, &field, &path, &inner) {
            return Some(found);
        }
    }
    None
}

fn check_field(
    value: &Value,
    field: &FieldDescriptor,
    path: &str,
    segments: &[String],
) -> Option<UnknownField> {
    let with = |last: String| {
        let mut more = segments.to_vec();
        more.push(last);
        more
    };
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        let Kind::Message(values) = entry.map_entry_value_field().kind() else {
            return None;
        };
        let Value::Object(entries) = value else {
            return None;
        };
        return entries.iter().find_map(|(key, item)| {
            check_object(item, &values, &format!("{path}.{key}"), &with(key.clone()))
        });
    }
    let Kind::Message(message) = field.kind() else {
        return None;
    };
    match value {
        Value::Array(items) if field.is_list() => {
            items.iter().enumerate().find_map(|(index, item)| {
                check_object(
                    item,
                    &message,
                    &format!("{path}[{index}]"),
                    &with(index.to_string()),
                )
            })
        }
        _ => check_object(value, &message, path, segments),
    }
}

/// The request message built from its JSON form.
pub(crate) fn to_message(
    value: &Value,
    message: &MessageDescriptor,
) -> Result<DynamicMessage, WorkflowError> {
    let invalid = |detail: String| {
        WorkflowError::new(ErrorKind::Validation, "Invalid gRPC arguments").with_detail(detail)
    };
    if let Some(unknown) = unknown_field(value, message) {
        return Err(invalid(unknown.describe()));
    }
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    DynamicMessage::deserialize_with_options(message.clone(), value, &options).map_err(|error| {
        invalid(format!(
            "the arguments are not a valid `{}`: {error}",
            message.full_name()
        ))
    })
}

/// A response message in its JSON form.
pub(crate) fn to_json(message: &DynamicMessage) -> Result<Value, WorkflowError> {
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|error| {
            WorkflowError::new(ErrorKind::Communication, "Invalid gRPC response").with_detail(
                format!(
                    "a `{}` could not be read as JSON: {error}",
                    message.descriptor().full_name()
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const API: &str = r#"
syntax = "proto3";
package demo;
import "google/protobuf/timestamp.proto";
import "google/protobuf/struct.proto";
enum Mood { MOOD_UNSPECIFIED = 0; HAPPY = 1; }
message Inner { string first_name = 1; }
message Req {
  string user_name = 1;
  int64 big = 2;
  Mood mood = 3;
  google.protobuf.Timestamp at = 4;
  Inner inner = 5;
  repeated Inner many = 6;
  map<string, Inner> by_key = 7;
  google.protobuf.Struct extra = 8;
  int32 count = 9;
}
"#;

    fn request() -> MessageDescriptor {
        let files = super::super::ProtoFiles {
            location: "api.proto".into(),
            root: "api.proto".into(),
            files: vec![("api.proto".into(), API.into())],
        };
        let pool = super::super::proto::compile(&files).unwrap_or_else(|e| panic!("{e:?}"));
        pool.get_message_by_name("demo.Req")
            .unwrap_or_else(|| panic!("no demo.Req"))
    }

    #[test]
    fn json_names_and_proto_names_are_both_accepted() {
        let message = to_message(
            &json!({
                "userName": "ada", "big": "9007199254740993", "mood": "HAPPY",
                "at": "2026-01-02T03:04:05Z", "inner": {"first_name": "A"},
                "many": [{"firstName": "B"}], "by_key": {"k": {"firstName": "C"}},
                "extra": {"anything": [1, "two"]}
            }),
            &request(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let back = to_json(&message).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(back["userName"], "ada");
        assert_eq!(back["big"], "9007199254740993");
        assert_eq!(back["mood"], "HAPPY");
        assert_eq!(back["at"], "2026-01-02T03:04:05Z");
        assert_eq!(back["inner"]["firstName"], "A");
        assert_eq!(back["byKey"]["k"]["firstName"], "C");
        assert_eq!(back["extra"]["anything"], json!([1.0, "two"]));
        assert_eq!(back["count"], 0, "defaults are included");
    }

    #[test]
    fn unknown_fields_are_named_with_a_suggestion() {
        let error = to_message(&json!({"usrName": "x"}), &request())
            .err()
            .unwrap_or_else(|| panic!("accepted a typo"));
        assert_eq!(error.type_, ErrorKind::Validation.type_uri());
        assert_eq!(
            error.detail.as_deref(),
            Some("`usrName` is not a field of `demo.Req` (did you mean `userName`?)")
        );
        let nested = unknown_field(&json!({"many": [{}, {"frist_name": 1}]}), &request());
        assert_eq!(
            nested.map(|u| u.describe()).as_deref(),
            Some("`many[1].frist_name` is not a field of `demo.Inner` (did you mean `firstName`?)")
        );
        let in_map = unknown_field(&json!({"byKey": {"a": {"zzz": 1}}}), &request());
        assert_eq!(in_map.map(|u| u.path).as_deref(), Some("byKey.a.zzz"));
        assert!(unknown_field(&json!({"extra": {"free": 1}}), &request()).is_none());
    }

    #[test]
    fn wrong_value_types_are_validation_errors() {
        let error = to_message(&json!({"count": "many"}), &request())
            .err()
            .unwrap_or_else(|| panic!("accepted a string for an int32"));
        let detail = error.detail.unwrap_or_default();
        assert!(detail.contains("not a valid `demo.Req`"), "{detail}");
    }
}
