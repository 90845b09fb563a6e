//! Reading a JSON body into its typed input, with an error that names the field and what it
//! expects, and never the value given.
//!
//! serde's own messages quote what they were given (`invalid type: string "+256700123456",
//! expected a sequence`), and a value given to a personal group may be a phone number, a name,
//! an address. The message is rebuilt here from the parts that are ours: the path of the field
//! (`groups.contact.phones`) and what serde expected there (`a sequence`, `one of ...`).

use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;

use super::problem::{ApiError, ProblemType};

/// Parses a JSON body into `T`; a body of the wrong shape is 422 naming the field.
pub fn parse<T: DeserializeOwned>(body: &serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|err| {
        let message = err.inner().to_string();
        // The path of an unknown field ends with the key the client made up: the field is
        // named by where it was, not by what it was called.
        let unknown = message.starts_with("unknown field `");
        ApiError::problem(
            ProblemType::InvalidBody,
            describe(&field_path(err.path(), unknown), &message),
        )
    })
}

/// The path as the API names fields: `groups.contact.phones[2]`, without its last segment when
/// `drop_last` (an unknown key). A key that is not a field name of ours is not repeated.
fn field_path(path: &serde_path_to_error::Path, drop_last: bool) -> String {
    let mut segments: Vec<&Segment> = path.iter().collect();
    if drop_last {
        segments.pop();
    }
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if is_field_name(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Map { .. } | Segment::Enum { .. } | Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

fn is_field_name(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// What is wrong at `path`, from serde's `message` without the value it quotes.
pub fn describe(path: &str, message: &str) -> String {
    let message = without_position(message);
    let subject = if path.is_empty() {
        "the body".to_owned()
    } else {
        format!("`{path}`")
    };
    // These name a field of ours, never a value.
    if message.starts_with("missing field `") || message.starts_with("duplicate field `") {
        let field = message
            .split('`')
            .nth(1)
            .filter(|f| is_field_name(f))
            .unwrap_or("?");
        let what = if message.starts_with("missing") {
            "is missing"
        } else {
            "is given twice"
        };
        return if path.is_empty() {
            format!("`{field}` {what}")
        } else {
            format!("`{path}.{field}` {what}")
        };
    }
    let kinds = [
        ("invalid type: ", "has the wrong type"),
        ("invalid value: ", "has a value that is not accepted"),
        ("invalid length ", "has the wrong number of items"),
        ("unknown variant ", "is not one of the accepted codes"),
        ("unknown field ", "names a field that is not accepted here"),
    ];
    for (prefix, what) in kinds {
        if !message.starts_with(prefix) {
            continue;
        }
        // What was expected comes last, after the value given: the last ", expected " is
        // serde's own, whatever the value held.
        return match message.rfind(", expected ") {
            Some(at) => format!("{subject} {what}: expected {}", &message[at + 11..]),
            None => format!("{subject} {what}"),
        };
    }
    // A message of the type's own (a date that does not parse, say) may quote the value.
    format!("{subject} is not valid")
}

/// serde_json's ` at line 3 column 14` suffix, removed.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at)
            if message[at..]
                .trim_start_matches(" at line ")
                .split(" column ")
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())) =>
        {
            &message[..at]
        }
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialised")]
    struct Contact {
        phones: Vec<String>,
        address: Option<String>,
        kind: Option<Kind>,
        born: Option<chrono::NaiveDate>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Home,
        Work,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only deserialised")]
    struct Groups {
        contact: Contact,
    }

    fn error_of(body: serde_json::Value) -> String {
        match parse::<Groups>(&body) {
            Err(ApiError::Problem { detail, .. }) => detail.unwrap_or_default(),
            other => panic!("expected a problem, got {other:?}"),
        }
    }

    #[test]
    fn no_message_repeats_the_value_given() {
        let marker = "+256700123456 Amina Nakato";
        for body in [
            json!({"contact": {"phones": marker}}),
            json!({"contact": {"phones": [], "address": [marker]}}),
            json!({"contact": {"phones": [], "kind": marker}}),
            json!({"contact": {"phones": [], "born": marker}}),
            json!({"contact": {"phones": [7]}}),
            json!({"contact": {"phones": [], marker: 1}}),
            json!({"contact": {"phones": [], "amina_nakato": 1}}),
            json!({"contact": {"phones": [], "address": {marker: marker}}}),
            json!({marker: {}}),
            json!(marker),
        ] {
            let message = error_of(body.clone());
            assert!(
                !message.to_lowercase().contains("amina"),
                "{body}: {message}"
            );
            assert!(!message.contains("256700"), "{body}: {message}");
        }
    }

    #[test]
    fn messages_name_the_field_and_what_it_expects() {
        assert_eq!(
            error_of(json!({"contact": {"phones": "+256700123456"}})),
            "`contact.phones` has the wrong type: expected a sequence"
        );
        assert_eq!(
            error_of(json!({"contact": {"phones": [], "kind": "garden"}})),
            "`contact.kind` is not one of the accepted codes: expected `home` or `work`"
        );
        assert_eq!(
            error_of(json!({"contact": {"phones": [3]}})),
            "`contact.phones[0]` has the wrong type: expected a string"
        );
        assert_eq!(
            error_of(json!({"contact": {}})),
            "`contact.phones` is missing"
        );
        assert_eq!(
            error_of(json!({"contact": {"phones": [], "born": "yesterday"}})),
            "`contact.born` is not valid"
        );
        let unknown = error_of(json!({"contact": {"phones": [], "colour": 1}}));
        assert!(
            unknown
                .starts_with("`contact` names a field that is not accepted here: expected one of"),
            "{unknown}"
        );
    }

    #[test]
    fn positions_are_removed_only_when_they_are_positions() {
        assert_eq!(
            without_position("missing x at line 3 column 14"),
            "missing x"
        );
        assert_eq!(
            without_position("a value at line seven"),
            "a value at line seven"
        );
    }
}
