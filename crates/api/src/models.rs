//! MLflow 3 logged models: a model's artifacts and metadata, created by
//! `log_model`, finalized when its files are uploaded, loadable as
//! `models:/m-…`.

use almanac_core::model::{LoggedModel, LoggedModelStatus, Param, Tag};
use almanac_core::op::Op;
use almanac_core::search::{Target, parse_filter};
use almanac_core::validation as v;
use almanac_core::{Error, ids, names};
use almanac_store::{DatasetFilter, ModelOrder, ModelQuery};

use crate::paging::{self, Page};
use crate::{App, Result};

#[derive(Debug, Clone, Default)]
pub struct CreateLoggedModel {
    pub experiment_id: String,
    pub name: Option<String>,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub tags: Vec<Tag>,
    pub params: Vec<Param>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchLoggedModels {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    /// Datasets by name (required) and digest (optional).
    pub datasets: Vec<(Option<String>, Option<String>)>,
    pub order_by: Vec<ModelOrder>,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

const LOG_MODEL_HISTORY: &str = "mlflow.log-model.history";

impl App {
    pub fn create_logged_model(&self, req: CreateLoggedModel) -> Result<LoggedModel> {
        let experiment = self.experiment(&req.experiment_id)?;
        req.tags.iter().try_for_each(v::validate_run_tag)?;
        req.params.iter().try_for_each(v::validate_param)?;
        if let Some(name) = req.name.as_deref()
            && let Some(bad) = name.chars().find(|c| matches!(c, '/' | ':' | '.' | '%' | '"' | '\''))
        {
            return Err(Error::invalid(format!(
                "Invalid model name ('{name}') provided. Model name must not contain the character '{bad}'."
            ))
            .into());
        }
        let model_id = format!("m-{}", ids::run_id_from_random(self.random_bytes()));
        let artifact_location =
            format!("{}/models/{model_id}/artifacts", experiment.artifact_location.trim_end_matches('/'));
        let name = req.name.filter(|n| !n.is_empty()).unwrap_or_else(|| names::run_name_from_random(self.random()));
        self.store().write(
            &self.ctx(),
            Op::CreateLoggedModel {
                model_id: model_id.clone(),
                experiment_id: req.experiment_id,
                name,
                artifact_location,
                creation_time: self.now(),
                model_type: req.model_type.filter(|t| !t.is_empty()),
                source_run_id: req.source_run_id.filter(|r| !r.is_empty()),
                tags: req.tags,
                params: req.params,
            },
        )?;
        self.logged_model(&model_id, false)
    }

    pub fn logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        Ok(self.store().logged_model(model_id, allow_deleted)?)
    }

    pub fn finalize_logged_model(&self, model_id: &str, status: LoggedModelStatus) -> Result<LoggedModel> {
        self.store().write(&self.ctx(), Op::FinalizeLoggedModel { model_id: model_id.into(), status })?;
        self.logged_model(model_id, false)
    }

    /// Deleting a deleted model succeeds and changes nothing, as in MLflow.
    pub fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        if self.logged_model(model_id, true)?.lifecycle_stage == almanac_core::model::LifecycleStage::Deleted {
            return Ok(());
        }
        self.store().write(&self.ctx(), Op::DeleteLoggedModel { model_id: model_id.into() })?;
        Ok(())
    }

    pub fn set_logged_model_tags(&self, model_id: &str, tags: Vec<Tag>) -> Result<LoggedModel> {
        tags.iter().try_for_each(v::validate_run_tag)?;
        self.store().write(&self.ctx(), Op::SetLoggedModelTags { model_id: model_id.into(), tags })?;
        self.logged_model(model_id, false)
    }

    pub fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.store().write(&self.ctx(), Op::DeleteLoggedModelTag { model_id: model_id.into(), key: key.into() })?;
        Ok(())
    }

    pub fn log_logged_model_params(&self, model_id: &str, params: Vec<Param>) -> Result<()> {
        params.iter().try_for_each(v::validate_param)?;
        self.store().write(&self.ctx(), Op::LogLoggedModelParams { model_id: model_id.into(), params })?;
        Ok(())
    }

    pub fn search_logged_models(&self, req: &SearchLoggedModels) -> Result<Page<LoggedModel>> {
        let limit = req.max_results.filter(|m| *m > 0).unwrap_or(50).min(v::MAX_RESULTS_SEARCH_RUNS);
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_filter(&req.filter, Target::LoggedModels)?;
        let datasets = req
            .datasets
            .iter()
            .map(|(name, digest)| match name.as_deref().filter(|n| !n.is_empty()) {
                Some(name) => Ok(DatasetFilter { name: name.to_string(), digest: digest.clone() }),
                None => Err(Error::invalid("`dataset_name` in the `datasets` clause must be specified.")),
            })
            .collect::<std::result::Result<_, _>>()?;
        for o in &req.order_by {
            let known = match o.field.split_once('.') {
                Some((entity, key)) => {
                    if entity != "metrics" {
                        return Err(Error::invalid(format!(
                            "Invalid order by field name: {}. Only metrics are supported.",
                            o.field
                        ))
                        .into());
                    }
                    !key.is_empty()
                }
                None => almanac_store::model_order_column(&o.field).is_some(),
            };
            if !known {
                return Err(Error::invalid(format!("Invalid order by field name: {}", o.field)).into());
            }
        }
        let query = ModelQuery {
            experiment_ids: req.experiment_ids.clone(),
            filter,
            datasets,
            order_by: req.order_by.clone(),
            limit,
            offset,
        };
        let (items, more) = self.store().search_logged_models(&query)?;
        Ok(paging::page(items, offset, more))
    }

    /// Records that `run_id` produced the given logged models (at steps).
    pub fn log_run_outputs(&self, run_id: &str, models: Vec<(String, i64)>) -> Result<()> {
        for (model_id, _) in &models {
            self.logged_model(model_id, false)?;
        }
        self.store().write(&self.ctx(), Op::LogRunOutputs { run_id: run_id.into(), models })?;
        Ok(())
    }

    /// MLflow 2's `runs/log-model`: appends the model's metadata to the run's
    /// `mlflow.log-model.history` tag.
    pub fn record_logged_model(&self, run_id: &str, model_json: &str) -> Result<()> {
        let model: serde_json::Value = serde_json::from_str(model_json)
            .map_err(|e| Error::invalid(format!("Malformed model info. Error: {e}")))?;
        let run = self.run(run_id)?;
        let value = crate::appended_json_list(&run.tags, LOG_MODEL_HISTORY, model);
        // An internal tag: it may grow past the user tag limit, as in MLflow.
        self.store().write(
            &self.ctx(),
            Op::LogBatch {
                run_id: run_id.into(),
                metrics: vec![],
                params: vec![],
                tags: vec![Tag { key: LOG_MODEL_HISTORY.into(), value }],
            },
        )?;
        Ok(())
    }
}
