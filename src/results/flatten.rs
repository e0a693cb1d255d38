//! Flattening of a nested recipe into dotted keys, one summary column per key.

use serde_json::Value as JsonValue;
use serde_yaml::Value as YamlValue;

/// Flattens nested mappings into `(dotted key, value)` pairs, in the order of the recipe.
///
/// `{train: {lr: 0.0001}}` becomes `("train.lr", 0.0001)`. Sequences and empty mappings become
/// one entry with their JSON text, such as `"[1,2]"`, because a table cell contains one value.
///
/// serde_yaml writes an enum variant as a tagged value such as `schedule: !cosine {warmup: 10}`.
/// The tag becomes one more key level, `schedule.cosine.warmup`, the way serde_json nests an
/// enum variant. Non-finite floats become JSON null, because JSON has no NaN or infinity. A
/// value that is not a mapping comes back as one entry with an empty key.
pub fn flatten_yaml(value: &YamlValue) -> Vec<(String, JsonValue)> {
    let mut entries = Vec::new();
    flatten_into(value, String::new(), &mut entries);
    entries
}

fn flatten_into(value: &YamlValue, key: String, entries: &mut Vec<(String, JsonValue)>) {
    match value {
        YamlValue::Mapping(mapping) if !mapping.is_empty() || key.is_empty() => {
            for (child_key, child) in mapping {
                flatten_into(child, join(&key, &key_text(child_key)), entries);
            }
        }
        YamlValue::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            flatten_into(&tagged.value, join(&key, tag), entries);
        }
        YamlValue::Sequence(_) | YamlValue::Mapping(_) => {
            entries.push((key, JsonValue::String(json_text(value))));
        }
        scalar => entries.push((key, scalar_to_json(scalar))),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Returns a mapping key as text. YAML allows any value as a key, not only strings.
fn key_text(key: &YamlValue) -> String {
    match key {
        YamlValue::String(text) => text.clone(),
        other => json_text(other),
    }
}

fn scalar_to_json(scalar: &YamlValue) -> JsonValue {
    serde_json::to_value(scalar).expect("a YAML null, bool, number or string converts to JSON")
}

/// Returns `value` as compact JSON text, or as YAML text when JSON cannot represent it.
fn json_text(value: &YamlValue) -> String {
    // Conversion fails for a mapping whose keys JSON cannot represent, such as a sequence or
    // null used as a key. The YAML text keeps such a value readable.
    serde_json::to_string(value).unwrap_or_else(|_| {
        let text = serde_yaml::to_string(value).unwrap_or_default();
        text.trim_end().to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flatten(text: &str) -> Vec<(String, JsonValue)> {
        flatten_yaml(&serde_yaml::from_str(text).unwrap())
    }

    #[test]
    fn nested_mapping_gets_dotted_keys() {
        let entries = flatten(
            "name: instruct\n\
             model:\n  preset: gpt2-small\n  dropout: 0.0\n  attention:\n    heads: 12\n\
             train:\n  lr: 5.0e-5\n  mask_prompt: true\n  seed: null\n",
        );

        assert_eq!(
            entries,
            vec![
                ("name".to_owned(), json!("instruct")),
                ("model.preset".to_owned(), json!("gpt2-small")),
                ("model.dropout".to_owned(), json!(0.0)),
                ("model.attention.heads".to_owned(), json!(12)),
                ("train.lr".to_owned(), json!(5.0e-5)),
                ("train.mask_prompt".to_owned(), json!(true)),
                ("train.seed".to_owned(), JsonValue::Null),
            ]
        );
    }

    #[test]
    fn sequences_become_json_text() {
        let entries = flatten("bench:\n  lengths: [16, 32]\n  prompts:\n    - a: 1\n");

        assert_eq!(
            entries,
            vec![
                ("bench.lengths".to_owned(), json!("[16,32]")),
                ("bench.prompts".to_owned(), json!("[{\"a\":1}]")),
            ]
        );
    }

    #[test]
    fn empty_mapping_kept_as_text() {
        let entries = flatten("data: {}\n");

        assert_eq!(entries, vec![("data".to_owned(), json!("{}"))]);
        assert!(flatten("{}").is_empty());
    }

    #[test]
    fn tag_becomes_key_level() {
        let entries = flatten("schedule: !cosine\n  warmup: 10\n");

        assert_eq!(
            entries,
            vec![("schedule.cosine.warmup".to_owned(), json!(10))]
        );
    }

    #[test]
    fn non_finite_float_becomes_null() {
        let entries = flatten("train:\n  lr: .nan\n  clip: .inf\n");

        assert_eq!(
            entries,
            vec![
                ("train.lr".to_owned(), JsonValue::Null),
                ("train.clip".to_owned(), JsonValue::Null)
            ]
        );
    }

    #[test]
    fn null_key_inside_sequence_kept_as_yaml() {
        let entries = flatten("stops:\n  - ~: end\n");

        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0, "stops");
        assert_eq!(entries[0].1, json!("- null: end"));
    }

    #[test]
    fn non_string_keys_become_text() {
        let entries = flatten("classes:\n  0: ham\n  1: spam\n");

        assert_eq!(
            entries,
            vec![
                ("classes.0".to_owned(), json!("ham")),
                ("classes.1".to_owned(), json!("spam"))
            ]
        );
    }
}
