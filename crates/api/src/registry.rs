//! The model registry: registered models, versions, aliases, tags, stages,
//! and prompts (registered models tagged `mlflow.prompt.is_prompt=true`).

use almanac_core::model::{ModelVersion, PROMPT_TAG, RegisteredModel, STAGES, Tag};
use almanac_core::op::Op;
use almanac_core::registry::{canonical_stage, split_prompt_clauses, validate_alias, validate_model_name};
use almanac_core::search::{Target, parse_filter};
use almanac_core::validation::{KeyKind, validate_key};
use almanac_core::{Error, ErrorCode};
use almanac_store::RegistryQuery;

use crate::paging::{self, Page};
use crate::{App, Result};

const MAX_REGISTRY_TAG_VALUE: usize = 100_000;
const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";
const PROMPT_SOURCES: [&str; 2] = ["dummy-source", "prompt-template"];

#[derive(Debug, Clone, Default)]
pub struct CreateModelVersion {
    pub name: String,
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub description: Option<String>,
    pub model_id: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchRegistry {
    pub filter: String,
    pub order_by: Vec<String>,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

fn validate_registry_tag(tag: &Tag) -> Result<()> {
    validate_key(KeyKind::Tag, &tag.key)?;
    if tag.value.chars().count() > MAX_REGISTRY_TAG_VALUE {
        return Err(Error::invalid(format!(
            "Tag value for key '{}' exceeds the maximum length of {MAX_REGISTRY_TAG_VALUE} characters",
            tag.key
        ))
        .into());
    }
    Ok(())
}

fn parse_order(order_by: &[String], allowed: &[&str]) -> Result<Vec<(String, bool)>> {
    order_by
        .iter()
        .filter(|o| !o.trim().is_empty())
        .map(|o| {
            let mut parts = o.split_whitespace();
            let key = parts.next().unwrap_or_default().trim_matches('`').to_string();
            let ascending = match parts.next().map(|d| d.to_ascii_uppercase()) {
                None => true,
                Some(d) if d == "ASC" => true,
                Some(d) if d == "DESC" => false,
                Some(d) => return Err(Error::invalid(format!("Invalid order_by clause '{o}': unknown direction '{d}'")).into()),
            };
            if !allowed.contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "Invalid order by key '{key}' specified. Valid keys are '{}'",
                    allowed.join("', '")
                ))
                .into());
            }
            Ok((key, ascending))
        })
        .collect()
}

impl App {
    pub fn create_registered_model(
        &self,
        name: &str,
        tags: Vec<Tag>,
        description: Option<String>,
    ) -> Result<RegisteredModel> {
        validate_model_name(name)?;
        tags.iter().try_for_each(validate_registry_tag)?;
        if let Ok(existing) = self.store().registered_model(name) {
            let existing_is_prompt = existing.tags.iter().any(|t| t.key == PROMPT_TAG && t.value == "true");
            let new_is_prompt = tags.iter().any(|t| t.key == PROMPT_TAG && t.value == "true");
            let message = match (existing_is_prompt, new_is_prompt) {
                (true, false) => format!(
                    "Tried to create a registered model with name '{name}', but the name is already taken by a prompt. MLflow does not allow creating a model and a prompt with the same name."
                ),
                (false, true) => format!(
                    "Tried to create a prompt with name '{name}', but the name is already taken by a registered model. MLflow does not allow creating a model and a prompt with the same name."
                ),
                _ => format!("Registered Model (name={name}) already exists."),
            };
            return Err(Error::already_exists(message).into());
        }
        let description = description.filter(|d| !d.is_empty());
        self.store().write(
            &self.ctx(),
            Op::CreateRegisteredModel { name: name.into(), creation_time: self.now(), description, tags },
        )?;
        self.registered_model(name)
    }

    pub fn registered_model(&self, name: &str) -> Result<RegisteredModel> {
        Ok(self.store().registered_model(name)?)
    }

    pub fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        validate_model_name(new_name)?;
        self.store().write(&self.ctx(), Op::RenameRegisteredModel { name: name.into(), new_name: new_name.into() })?;
        self.registered_model(new_name)
    }

    pub fn update_registered_model(&self, name: &str, description: &str) -> Result<RegisteredModel> {
        self.store()
            .write(&self.ctx(), Op::UpdateRegisteredModel { name: name.into(), description: description.into() })?;
        self.registered_model(name)
    }

    pub fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.store().write(&self.ctx(), Op::DeleteRegisteredModel { name: name.into() })?;
        Ok(())
    }

    pub fn set_registered_model_tag(&self, name: &str, tag: Tag) -> Result<()> {
        validate_registry_tag(&tag)?;
        self.store().write(&self.ctx(), Op::SetRegisteredModelTag { name: name.into(), tag })?;
        Ok(())
    }

    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.store().write(&self.ctx(), Op::DeleteRegisteredModelTag { name: name.into(), key: key.into() })?;
        Ok(())
    }

    pub fn search_registered_models(&self, req: &SearchRegistry) -> Result<Page<RegisteredModel>> {
        let limit = req.max_results.unwrap_or(100);
        // MLflow answers an empty page for zero rather than refusing it.
        if limit == 0 {
            return Ok(Page { items: Vec::new(), next_page_token: None });
        }
        if !(1..=1000).contains(&limit) {
            return Err(Error::invalid(format!(
                "Invalid value {limit} for parameter 'max_results' supplied. It must be between 1 and 1000."
            ))
            .into());
        }
        let offset = paging::decode(req.page_token.as_deref())?;
        let (filter, include_prompts) = split_prompt_clauses(parse_filter(&req.filter, Target::RegisteredModels)?);
        let order_by = parse_order(&req.order_by, &["name", "timestamp", "last_updated_timestamp"])?;
        let (items, more) = self.store().search_registered_models(&RegistryQuery {
            filter,
            order_by,
            include_prompts,
            limit,
            offset,
        })?;
        Ok(paging::page(items, offset, more))
    }

    /// The newest live version in each of `stages` (all stages if empty).
    pub fn latest_versions(&self, name: &str, stages: &[String]) -> Result<Vec<ModelVersion>> {
        let model = self.registered_model(name)?;
        let wanted: Vec<&str> = if stages.is_empty() {
            STAGES.to_vec()
        } else {
            stages
                .iter()
                .map(|s| {
                    canonical_stage(s).ok_or_else(|| {
                        Error::invalid(format!(
                            "Invalid Model Version stage: {s}. Value must be one of {}.",
                            STAGES.join(", ")
                        ))
                    })
                })
                .collect::<std::result::Result<_, _>>()?
        };
        Ok(model.latest_versions.into_iter().filter(|v| wanted.contains(&v.current_stage.as_str())).collect())
    }

    pub fn set_registered_model_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        validate_alias(alias)?;
        self.store().write(
            &self.ctx(),
            Op::SetRegisteredModelAlias { name: name.into(), alias: alias.into(), version, version_op: None },
        )?;
        Ok(())
    }

    pub fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.store().write(&self.ctx(), Op::DeleteRegisteredModelAlias { name: name.into(), alias: alias.into() })?;
        Ok(())
    }

    /// The version an alias points at; `latest` is the highest live version.
    pub fn model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        self.registered_model(name)?;
        let version = if alias.eq_ignore_ascii_case("latest") {
            self.store()
                .max_version(name, false)?
                .ok_or_else(|| Error::not_found(format!("Latest version not found for model {name}.")))?
        } else {
            self.store()
                .alias_version(name, alias)?
                .ok_or_else(|| Error::invalid(format!("Registered model alias {alias} not found.")))?
        };
        self.model_version(name, version)
    }

    pub fn create_model_version(&self, req: CreateModelVersion) -> Result<ModelVersion> {
        validate_model_name(&req.name)?;
        req.tags.iter().try_for_each(validate_registry_tag)?;
        if req.source.is_empty() {
            return Err(Error::invalid("Missing value for required parameter 'source'.").into());
        }
        let model = self.registered_model(&req.name)?;
        let is_prompt = req.tags.iter().chain(model.tags.iter()).any(|t| t.key == PROMPT_TAG && t.value == "true");
        let mut run_id = req.run_id.filter(|r| !r.is_empty());
        let mut model_id = req.model_id.filter(|m| !m.is_empty());
        let mut storage_location = req.source.clone();
        if is_prompt {
            if !PROMPT_SOURCES.contains(&req.source.as_str()) {
                return Err(Error::invalid(format!(
                    "Invalid prompt source: '{}'. Prompt sources must use an MLflow placeholder.",
                    req.source
                ))
                .into());
            }
        } else {
            self.check_version_source(&req.source, run_id.as_deref(), model_id.as_deref())?;
            // Where the files are: a logged model's folder, or another version's.
            if let Some(id) =
                req.source.strip_prefix("models:/m-").map(|rest| format!("m-{}", rest.trim_end_matches('/')))
            {
                let logged = self.logged_model(&id, false)?;
                storage_location = logged.artifact_location.clone();
                run_id = run_id.or(logged.source_run_id.clone());
                model_id = Some(id);
            } else if let Some(rest) = req.source.strip_prefix("models:/") {
                // models:/<name>/<version>: the new version shares that one's files.
                if let Some((src_name, src_version)) = rest.rsplit_once('/')
                    && let Ok(v) = src_version.parse::<i64>()
                {
                    let src = self.model_version(src_name, v)?;
                    storage_location = src.storage_location;
                    run_id = run_id.or(src.run_id);
                    model_id = model_id.or(src.model_id);
                }
            }
        }
        let version = self.store().max_version(&req.name, true)?.unwrap_or(0) + 1;
        self.store().write(
            &self.ctx(),
            Op::CreateModelVersion {
                name: req.name.clone(),
                version,
                creation_time: self.now(),
                source: req.source,
                storage_location,
                run_id,
                run_link: req.run_link,
                description: req.description,
                model_id: model_id.clone(),
                tags: req.tags,
            },
        )?;
        if let (Some(id), false) = (&model_id, is_prompt) {
            self.note_model_version_on_logged_model(id, &req.name, version)?;
        }
        self.model_version(&req.name, version)
    }

    /// MLflow records a logged model's registered versions in its
    /// `mlflow.modelVersions` tag.
    fn note_model_version_on_logged_model(&self, model_id: &str, name: &str, version: i64) -> Result<()> {
        let Ok(logged) = self.logged_model(model_id, false) else { return Ok(()) };
        let value = crate::appended_json_list(
            &logged.tags,
            MODEL_VERSIONS_TAG,
            serde_json::json!({"name": name, "version": version}),
        );
        self.set_logged_model_tags(model_id, vec![Tag { key: MODEL_VERSIONS_TAG.into(), value }])?;
        Ok(())
    }

    pub fn model_version(&self, name: &str, version: i64) -> Result<ModelVersion> {
        Ok(self.store().model_version(name, version)?)
    }

    pub fn update_model_version(&self, name: &str, version: i64, description: &str) -> Result<ModelVersion> {
        self.store().write(
            &self.ctx(),
            Op::UpdateModelVersion { name: name.into(), version, description: description.into(), version_op: None },
        )?;
        self.model_version(name, version)
    }

    pub fn transition_model_version_stage(
        &self,
        name: &str,
        version: i64,
        stage: &str,
        archive_existing_versions: bool,
    ) -> Result<ModelVersion> {
        let stage = canonical_stage(stage).ok_or_else(|| {
            Error::invalid(format!("Invalid Model Version stage: {stage}. Value must be one of {}.", STAGES.join(", ")))
        })?;
        if archive_existing_versions && !matches!(stage, "Staging" | "Production") {
            return Err(Error::invalid(format!(
                "Model version transition cannot archive existing model versions because '{stage}' is not an Active stage. Valid stages are ['Staging', 'Production']"
            ))
            .into());
        }
        self.store().write(
            &self.ctx(),
            Op::TransitionModelVersionStage {
                name: name.into(),
                version,
                stage: stage.into(),
                archive_existing_versions,
                version_op: None,
            },
        )?;
        self.model_version(name, version)
    }

    pub fn delete_model_version(&self, name: &str, version: i64) -> Result<()> {
        self.store().write(&self.ctx(), Op::DeleteModelVersion { name: name.into(), version, version_op: None })?;
        Ok(())
    }

    pub fn set_model_version_tag(&self, name: &str, version: i64, tag: Tag) -> Result<()> {
        validate_registry_tag(&tag)?;
        self.store()
            .write(&self.ctx(), Op::SetModelVersionTag { name: name.into(), version, tag, version_op: None })?;
        Ok(())
    }

    pub fn delete_model_version_tag(&self, name: &str, version: i64, key: &str) -> Result<()> {
        self.store().write(
            &self.ctx(),
            Op::DeleteModelVersionTag { name: name.into(), version, key: key.into(), version_op: None },
        )?;
        Ok(())
    }

    /// MLflow 3.17's checks on where a new version's files come from
    /// (`_validate_source_run` and `_validate_source_model` in its handlers):
    /// the request's run, or its logged model when it names one, must hold
    /// the source, and no source may climb out of a folder or name a path on
    /// the server's disk.
    fn check_version_source(&self, source: &str, run_id: Option<&str>, model_id: Option<&str>) -> Result<()> {
        let owner = if model_id.is_some() { "model_id" } else { "run_id" };
        let refuse = |why: String| -> Result<()> {
            Err(Error::invalid(format!("Invalid model version source: '{source}'. {why}")).into())
        };
        let not_held =
            || refuse(format!("The {owner} request parameter must identify the resource that contains the source."));
        if is_local_source(source) {
            return refuse(format!(
                "To use a local path as a model version source, the {owner} request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the {owner}."
            ));
        }
        // Decoded until it no longer changes, as MLflow does, so an escaped `..` is caught too.
        let mut decoded = source.to_string();
        loop {
            let next = almanac_core::validation::percent_decode(&decoded);
            if next == decoded {
                break;
            }
            decoded = next;
        }
        if decoded.contains('\0') || decoded.split('/').any(|s| s == "..") {
            return refuse("If supplying a source as an absolute path, an absolute path must be provided without relative path references present. Please provide an absolute path.".into());
        }
        let (scheme, rest) = source.split_once(':').unwrap_or(("", source));
        let host = rest.strip_prefix("//").map(|after| after.split('/').next().unwrap_or_default());
        let first = rest.trim_start_matches('/').split('/').next().filter(|s| !s.is_empty());
        match scheme {
            "runs" | "models" if host.is_some_and(|h| !h.is_empty()) => not_held(),
            "runs" if model_id.is_none() && run_id.is_some() && run_id == first => Ok(()),
            "runs" => not_held(),
            // `models:/m-<id>` names a logged model; `models:/<name>/<version>` a version.
            "models" => match first.filter(|id| id.starts_with("m-") && rest.trim_matches('/') == *id) {
                Some(id) if model_id != Some(id) => not_held(),
                _ => Ok(()),
            },
            "mlflow-artifacts" => {
                let root = match (model_id, run_id) {
                    (Some(m), _) => self.logged_model(m, false)?.artifact_location,
                    (None, Some(r)) => self.run(r)?.info.artifact_uri,
                    (None, None) => return not_held(),
                };
                let root = root.trim_end_matches('/');
                if source == root || source.starts_with(&format!("{root}/")) { Ok(()) } else { not_held() }
            }
            _ => Ok(()),
        }
    }

    /// Where a version's files can be downloaded from.
    pub fn model_version_download_uri(&self, name: &str, version: i64) -> Result<String> {
        Ok(self.model_version(name, version)?.storage_location)
    }

    pub fn search_model_versions(&self, req: &SearchRegistry) -> Result<Page<ModelVersion>> {
        let limit = req.max_results.unwrap_or(200_000);
        if !(1..=200_000).contains(&limit) {
            return Err(Error::new(
                ErrorCode::InvalidParameterValue,
                format!("Invalid value {limit} for parameter 'max_results' supplied. It must be between 1 and 200000."),
            )
            .into());
        }
        let offset = paging::decode(req.page_token.as_deref())?;
        let (filter, include_prompts) = split_prompt_clauses(parse_filter(&req.filter, Target::ModelVersions)?);
        let order_by = parse_order(
            &req.order_by,
            &["name", "timestamp", "last_updated_timestamp", "creation_timestamp", "version_number"],
        )?;
        let (items, more) =
            self.store().search_model_versions(&RegistryQuery { filter, order_by, include_prompts, limit, offset })?;
        Ok(paging::page(items, offset, more))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CreateLoggedModel, CreateRun, FixedClock, SeededEntropy};

    fn app() -> (tempfile::TempDir, App) {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path(), Box::new(FixedClock(5)), Box::new(SeededEntropy::new(9))).unwrap();
        (dir, app)
    }

    #[test]
    fn versions_aliases_and_stages() {
        let (_d, app) = app();
        app.create_registered_model("churn", vec![], Some("desc".into())).unwrap();
        let run = app.create_run(CreateRun::default()).unwrap();
        let logged = app
            .create_logged_model(CreateLoggedModel {
                experiment_id: "0".into(),
                source_run_id: Some(run.info.run_id.clone()),
                ..Default::default()
            })
            .unwrap();
        let v1 = app
            .create_model_version(CreateModelVersion {
                name: "churn".into(),
                source: format!("models:/{}", logged.model_id),
                model_id: Some(logged.model_id.clone()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!((v1.version, v1.run_id.as_deref()), (1, Some(run.info.run_id.as_str())));
        assert_eq!(app.model_version_download_uri("churn", 1).unwrap(), logged.artifact_location);
        let v2 = app
            .create_model_version(CreateModelVersion {
                name: "churn".into(),
                source: "s3://b/m".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(v2.version, 2);
        app.set_registered_model_alias("churn", "champion", 1).unwrap();
        assert_eq!(app.model_version_by_alias("churn", "champion").unwrap().version, 1);
        assert_eq!(app.model_version_by_alias("churn", "latest").unwrap().version, 2);
        assert_eq!(app.model_version_by_alias("churn", "nope").unwrap_err().code, ErrorCode::InvalidParameterValue);
        assert_eq!(app.set_registered_model_alias("churn", "x", 9).unwrap_err().code, ErrorCode::ResourceDoesNotExist);
        app.transition_model_version_stage("churn", 2, "production", false).unwrap();
        let latest = app.latest_versions("churn", &["Production".into()]).unwrap();
        assert_eq!(latest.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);
        app.delete_model_version("churn", 1).unwrap();
        assert!(app.model_version_by_alias("churn", "champion").is_err(), "deleting a version drops its aliases");
        let v3 = app
            .create_model_version(CreateModelVersion {
                name: "churn".into(),
                source: "s3://b/m".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(v3.version, 3, "numbers are never reused");
        let renamed = app.rename_registered_model("churn", "churn2").unwrap();
        assert_eq!(renamed.latest_versions.len(), 2);
        assert_eq!(app.model_version("churn2", 3).unwrap().name, "churn2");
        let tag = app.logged_model(&logged.model_id, false).unwrap();
        assert!(
            tag.tags
                .iter()
                .any(|t| t.key == "mlflow.modelVersions" && t.value == r#"[{"name": "churn", "version": 1}]"#)
        );
    }

    #[test]
    fn prompts_are_hidden_from_plain_searches() {
        let (_d, app) = app();
        app.create_registered_model("model", vec![], None).unwrap();
        app.create_registered_model("prompt", vec![Tag { key: PROMPT_TAG.into(), value: "true".into() }], None)
            .unwrap();
        let names = |filter: &str| {
            app.search_registered_models(&SearchRegistry { filter: filter.into(), ..Default::default() })
                .unwrap()
                .items
                .into_iter()
                .map(|m| m.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(""), ["model"]);
        assert_eq!(names("tag.`mlflow.prompt.is_prompt` != 'true'"), ["model"]);
        assert_eq!(names("tags.`mlflow.prompt.is_prompt` = 'true'"), ["prompt"]);
        let err = app
            .create_model_version(CreateModelVersion {
                name: "prompt".into(),
                source: "s3://x".into(),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidParameterValue);
        for source in ["/etc", "file:///etc", "mlflow-artifacts:/0/somewhere"] {
            let err = app
                .create_model_version(CreateModelVersion {
                    name: "model".into(),
                    source: source.into(),
                    ..Default::default()
                })
                .unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidParameterValue, "{source}");
        }
        let err = app.create_registered_model("prompt", vec![], None).unwrap_err();
        assert!(err.message.contains("already taken by a prompt"), "{}", err.message);
    }
}

/// A model version source that names a path on the server's own disk: a
/// `file:` URI, or no URI scheme at all (`/abs/path`, `relative/dir`,
/// `C:\\dir`). MLflow accepts these only inside the run's local artifact
/// folder; Almanac's artifacts are never a local folder, so never.
fn is_local_source(source: &str) -> bool {
    let scheme = source.split_once(':').map(|(s, _)| s).filter(|s| {
        s.len() > 1
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    });
    scheme.is_none_or(|s| s.eq_ignore_ascii_case("file"))
}

#[cfg(test)]
mod source_tests {
    #[test]
    fn local_sources_are_the_scheme_less_and_file_ones() {
        for (source, local) in [
            ("/abs/model", true),
            ("relative/model", true),
            ("file:///tmp/m", true),
            ("C:\\models\\m", true),
            ("runs:/abc/model", false),
            ("models:/m-1", false),
            ("s3://bucket/m", false),
            ("mlflow-artifacts:/1/abc/artifacts", false),
        ] {
            assert_eq!(super::is_local_source(source), local, "{source}");
        }
    }
}
