//! Dataset cards: where a dataset comes from, its checksum, licence and format.
//!
//! The cards in `datasets/` are embedded in the binary, so the runner can resolve them when it runs
//! outside the repository.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use super::error::DataError;

/// The built-in cards, as `(file name, YAML text)`.
const BUILTIN_CARDS: [(&str, &str); 4] = [
    (
        "the-verdict.yaml",
        include_str!("../../datasets/the-verdict.yaml"),
    ),
    (
        "instruction-data.yaml",
        include_str!("../../datasets/instruction-data.yaml"),
    ),
    (
        "sms-spam-collection.yaml",
        include_str!("../../datasets/sms-spam-collection.yaml"),
    ),
    (
        "tinyshakespeare.yaml",
        include_str!("../../datasets/tinyshakespeare.yaml"),
    ),
];

/// How a dataset file is laid out, which decides the pipeline that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetFormat {
    /// UTF-8 plain text, for pretraining.
    Text,
    /// A JSON list of `{instruction, input, output}` objects.
    InstructionJson,
    /// Tab-separated `label<TAB>text` lines without a header.
    Tsv,
}

/// A dataset card: one YAML file under `datasets/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetCard {
    /// Short name that recipes use, such as `the-verdict`.
    pub name: String,
    /// Summary of the dataset's contents.
    pub description: String,
    /// Public source URL of the file, or of the archive that contains it.
    pub url: String,
    /// sha256 of the data file (of the extracted member for an archive), lowercase hex.
    pub sha256: String,
    /// Size of the data file in bytes.
    pub bytes: u64,
    /// Licence of the data.
    pub license: String,
    /// Layout of the data file.
    pub format: DatasetFormat,
    /// Path of the data file relative to the mirror or cache folder.
    pub file: String,
    /// File inside the archive at `url`, or `None` when `url` is the data file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    /// Free-form remark for people reading the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl DatasetCard {
    /// Parses a card from YAML and checks its fields. `origin` names the source in errors.
    pub fn from_yaml(yaml: &str, origin: &str) -> Result<Self, DataError> {
        let card: Self = serde_yaml::from_str(yaml).map_err(|err| DataError::InvalidCard {
            path: origin.to_string(),
            reason: err.to_string(),
        })?;
        card.validate().map_err(|reason| DataError::InvalidCard {
            path: origin.to_string(),
            reason,
        })?;
        Ok(card)
    }

    /// Reads and parses a card file.
    pub fn load(path: &Path) -> Result<Self, DataError> {
        let yaml = std::fs::read_to_string(path).map_err(|err| DataError::io("read", path, err))?;
        Self::from_yaml(&yaml, &path.display().to_string())
    }

    fn validate(&self) -> Result<(), String> {
        let is_hex = self
            .sha256
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
        if self.sha256.len() != 64 || !is_hex {
            return Err(format!(
                "field `sha256` must be 64 lowercase hex digits, found `{}`",
                self.sha256
            ));
        }

        // `file` is joined to the cache folder, and a download writes there, so it must not
        // be able to point outside that folder.
        let file = Path::new(&self.file);
        let stays_inside = file
            .components()
            .all(|part| matches!(part, Component::Normal(_)));
        if self.file.is_empty() || !stays_inside {
            return Err(format!(
                "field `file` must be a relative path without `..`, found `{}`",
                self.file
            ));
        }
        Ok(())
    }
}

/// Returns the cards embedded from `datasets/`.
pub fn builtin_cards() -> Vec<DatasetCard> {
    BUILTIN_CARDS
        .iter()
        .map(|(file_name, yaml)| {
            let origin = format!("<built-in {file_name}>");
            // The embedded cards are fixed at compile time and parsed by a unit test.
            DatasetCard::from_yaml(yaml, &origin).expect("built-in dataset card is valid")
        })
        .collect()
}

/// Finds the built-in card called `name`.
pub fn find_card(name: &str) -> Result<DatasetCard, DataError> {
    let cards = builtin_cards();
    if let Some(card) = cards.iter().find(|card| card.name == name) {
        return Ok(card.clone());
    }

    let known: Vec<&str> = cards.iter().map(|card| card.name.as_str()).collect();
    Err(DataError::UnknownDataset {
        spec: name.to_string(),
        known: known.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cards_match_mirror_table() {
        let cards = builtin_cards();
        let names: Vec<&str> = cards.iter().map(|card| card.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "the-verdict",
                "instruction-data",
                "sms-spam-collection",
                "tinyshakespeare"
            ]
        );

        let verdict = &cards[0];
        assert_eq!(
            verdict.sha256,
            "b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f"
        );
        assert_eq!(verdict.bytes, 20479);
        assert_eq!(verdict.format, DatasetFormat::Text);
        assert_eq!(verdict.file, "the-verdict.txt");

        let instructions = &cards[1];
        assert_eq!(
            instructions.sha256,
            "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944"
        );
        assert_eq!(instructions.bytes, 203524);
        assert_eq!(instructions.format, DatasetFormat::InstructionJson);

        let sms = &cards[2];
        assert_eq!(
            sms.sha256,
            "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d"
        );
        assert_eq!(sms.bytes, 477907);
        assert_eq!(sms.format, DatasetFormat::Tsv);
        assert_eq!(sms.file, "sms-spam-collection/SMSSpamCollection");
        assert_eq!(sms.archive_member.as_deref(), Some("SMSSpamCollection"));
        assert!(sms.url.ends_with(".zip"));

        let shakespeare = &cards[3];
        assert_eq!(
            shakespeare.sha256,
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
        );
        assert_eq!(shakespeare.bytes, 1115394);
    }

    #[test]
    fn find_card_unknown_lists_names() {
        let message = find_card("wikitext").unwrap_err().to_string();
        assert!(message.contains("`wikitext`"), "{message}");
        assert!(
            message.contains("the-verdict, instruction-data, sms-spam-collection, tinyshakespeare"),
            "{message}"
        );
        assert!(message.contains("path"), "{message}");
    }

    #[test]
    fn card_rejects_unknown_field() {
        let yaml = BUILTIN_CARDS[0].1.to_string() + "mirror: somewhere\n";
        let message = DatasetCard::from_yaml(&yaml, "extra.yaml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("extra.yaml"), "{message}");
        assert!(message.contains("mirror"), "{message}");
    }

    #[test]
    fn card_rejects_file_outside_folder() {
        let yaml = BUILTIN_CARDS[0]
            .1
            .replace("file: the-verdict.txt", "file: ../escape.txt");
        let message = DatasetCard::from_yaml(&yaml, "escape.yaml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("field `file`"), "{message}");
    }

    #[test]
    fn card_rejects_short_sha256() {
        let yaml = BUILTIN_CARDS[0].1.replace("sha256: b41e41a6", "sha256: ");
        let message = DatasetCard::from_yaml(&yaml, "short.yaml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("field `sha256`"), "{message}");
    }
}
