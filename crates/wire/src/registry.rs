//! The model registry: registered models, versions and aliases. Prompts
//! are registered models tagged `mlflow.prompt.is_prompt`, in these shapes.

use almanac_core::model as domain;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::tracking::{KeyValue, key_values};

/// A model version as MLflow's registry writes it: `version` is a string,
/// absent optional strings are `""`, and `aliases` appear only on
/// single-version answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelVersion {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub version: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub last_updated_timestamp: i64,
    #[serde(default)]
    pub current_stage: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub description: String,
    #[serde(default)]
    pub source: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub run_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(default, deserialize_with = "codec::text")]
    pub run_link: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Read from MLflow 3 servers; Almanac's answers leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// Read from servers that send it; Almanac's answers leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_location: Option<String>,
}

impl ModelVersion {
    /// As a single-version answer writes it (with aliases) or as a listing
    /// does (without).
    pub fn new(v: &domain::ModelVersion, with_aliases: bool) -> ModelVersion {
        ModelVersion {
            name: v.name.clone(),
            version: v.version.to_string(),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            current_stage: v.current_stage.clone(),
            description: v.description.clone().unwrap_or_default(),
            source: v.source.clone(),
            run_id: v.run_id.clone().unwrap_or_default(),
            status: "READY".into(),
            tags: key_values(&v.tags),
            run_link: v.run_link.clone().unwrap_or_default(),
            aliases: if with_aliases { v.aliases.clone() } else { Vec::new() },
            model_id: None,
            storage_location: None,
        }
    }

    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AliasEntry {
    #[serde(default)]
    pub alias: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RegisteredModel {
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub creation_timestamp: i64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub last_updated_timestamp: i64,
    #[serde(default, deserialize_with = "codec::text", skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<AliasEntry>,
}

impl From<&domain::RegisteredModel> for RegisteredModel {
    fn from(r: &domain::RegisteredModel) -> Self {
        RegisteredModel {
            name: r.name.clone(),
            creation_timestamp: r.creation_timestamp,
            last_updated_timestamp: r.last_updated_timestamp,
            description: r.description.clone().unwrap_or_default(),
            latest_versions: r.latest_versions.iter().map(|v| ModelVersion::new(v, false)).collect(),
            tags: key_values(&r.tags),
            aliases: r
                .aliases
                .iter()
                .map(|(alias, version)| AliasEntry { alias: alias.clone(), version: version.to_string() })
                .collect(),
        }
    }
}

/// `{"registered_model": ..}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RegisteredModelReply {
    #[serde(default)]
    pub registered_model: RegisteredModel,
}

/// `{"model_version": ..}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelVersionReply {
    #[serde(default)]
    pub model_version: ModelVersion,
}

/// `{"artifact_uri": ..}`: get-download-uri.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DownloadUri {
    #[serde(default)]
    pub artifact_uri: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_writes_empty_strings_for_what_it_lacks_and_aliases_only_alone() {
        let v = domain::ModelVersion {
            name: "m".into(),
            version: 3,
            creation_timestamp: 1,
            last_updated_timestamp: 2,
            description: None,
            current_stage: "None".into(),
            source: "models:/m-1".into(),
            run_id: None,
            run_link: None,
            model_id: Some("m-1".into()),
            storage_location: "x".into(),
            tags: vec![],
            aliases: vec!["champion".into()],
        };
        assert_eq!(
            serde_json::to_string(&ModelVersion::new(&v, true)).unwrap(),
            r#"{"name":"m","version":"3","creation_timestamp":1,"last_updated_timestamp":2,"current_stage":"None","description":"","source":"models:/m-1","run_id":"","status":"READY","run_link":"","aliases":["champion"]}"#
        );
        assert!(!serde_json::to_string(&ModelVersion::new(&v, false)).unwrap().contains("aliases"));
        // Some servers send the version as a number.
        let read: ModelVersion = serde_json::from_str(r#"{"name": "m", "version": 4, "model_id": "m-2"}"#).unwrap();
        assert_eq!((read.version.as_str(), read.model_id.as_deref()), ("4", Some("m-2")));
    }
}
