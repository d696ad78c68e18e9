//! MLflow 3's logged models (`/logged-models/...`).

use almanac_api::{ApiError, App, Error};
use almanac_core::model::Param;
use almanac_wire as wire;
use axum::routing::MethodFilter;

use crate::input::{Input, tags_of};
use crate::reply::{Route, empty, reply};

/// Under `/api/2.0/mlflow` (and its `/ajax-api` mirror).
pub const ROUTES: &[Route] = &[
    ("/logged-models", MethodFilter::POST, create_logged_model),
    ("/logged-models/search", MethodFilter::POST, search_logged_models),
    ("/logged-models/{model_id}", MethodFilter::GET, get_logged_model),
    ("/logged-models/{model_id}", MethodFilter::PATCH, finalize_logged_model),
    ("/logged-models/{model_id}", MethodFilter::DELETE, delete_logged_model),
    ("/logged-models/{model_id}/tags", MethodFilter::PATCH, set_logged_model_tags),
    ("/logged-models/{model_id}/tags/{tag_key}", MethodFilter::DELETE, delete_logged_model_tag),
    ("/logged-models/{model_id}/params", MethodFilter::POST, log_logged_model_params),
    ("/logged-models/{model_id}/artifacts/directories", MethodFilter::GET, list_logged_model_artifacts),
];

fn param_list(input: &Input, field: &str) -> Result<Vec<Param>, ApiError> {
    input
        .objects(field)?
        .iter()
        .map(|p| Ok(Param { key: p.req_str("key")?, value: p.opt_str("value")?.unwrap_or_default() }))
        .collect()
}

fn logged_model_reply(m: &almanac_core::model::LoggedModel) -> Result<Vec<u8>, ApiError> {
    reply(&wire::LoggedModelReply { model: m.into() })
}

fn create_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let model = app.create_logged_model(almanac_api::CreateLoggedModel {
        experiment_id: r.req_str("experiment_id")?,
        name: r.opt_str("name")?,
        model_type: r.opt_str("model_type")?,
        source_run_id: r.opt_str("source_run_id")?,
        tags: tags_of(r, "tags")?,
        params: param_list(r, "params")?,
    })?;
    logged_model_reply(&model)
}

fn get_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let allow_deleted = r.opt_bool("allow_deleted")?.unwrap_or(false);
    logged_model_reply(&app.logged_model(&r.req_str("model_id")?, allow_deleted)?)
}

fn finalize_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let raw = r.opt_str("status")?.or(r.opt_i64("status").ok().flatten().map(|n| n.to_string()));
    let status = raw
        .as_deref()
        .and_then(almanac_core::model::LoggedModelStatus::from_wire)
        .ok_or_else(|| ApiError::from(Error::invalid("Missing or invalid value for required parameter 'status'.")))?;
    logged_model_reply(&app.finalize_logged_model(&r.req_str("model_id")?, status)?)
}

fn delete_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_logged_model(&r.req_str("model_id")?)?;
    reply(&empty())
}

fn set_logged_model_tags(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    logged_model_reply(&app.set_logged_model_tags(&r.req_str("model_id")?, tags_of(r, "tags")?)?)
}

fn delete_logged_model_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_logged_model_tag(&r.req_str("model_id")?, &r.req_str("tag_key")?)?;
    reply(&empty())
}

fn log_logged_model_params(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.log_logged_model_params(&r.req_str("model_id")?, param_list(r, "params")?)?;
    reply(&empty())
}

fn search_logged_models(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let order_by = r
        .objects("order_by")?
        .iter()
        .map(|o| {
            Ok(almanac_api::ModelOrder {
                field: o.req_str("field_name")?,
                ascending: o.opt_bool("ascending")?.unwrap_or(true),
                dataset_name: o.opt_str("dataset_name")?,
                dataset_digest: o.opt_str("dataset_digest")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let datasets = r
        .objects("datasets")?
        .iter()
        .map(|d| Ok((d.opt_str("dataset_name")?, d.opt_str("dataset_digest")?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let page = app.search_logged_models(&almanac_api::SearchLoggedModels {
        experiment_ids: r.str_list("experiment_ids")?,
        filter: r.opt_str("filter")?.unwrap_or_default(),
        datasets,
        order_by,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })?;
    reply(&wire::LoggedModelsPage {
        models: page.items.iter().map(wire::LoggedModel::from).collect(),
        next_page_token: page.next_page_token,
    })
}

fn list_logged_model_artifacts(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let model = app.logged_model(&r.req_str("model_id")?, false)?;
    let dir = r.opt_str("artifact_directory_path")?.unwrap_or_default();
    let mut files = Vec::new();
    if let Some(root) = almanac_api::proxied_path(&model.artifact_location) {
        let rel = almanac_core::validation::artifact_path(&dir)?;
        let full = if rel.is_empty() { root } else { format!("{root}/{rel}") };
        files = app
            .list_artifacts(&full)?
            .iter()
            .map(|e| {
                let path = if rel.is_empty() { e.name.clone() } else { format!("{rel}/{}", e.name) };
                wire::FileInfo::new(&path, e.is_dir, e.size)
            })
            .collect();
    }
    reply(&wire::ArtifactListing { root_uri: model.artifact_location, files, next_page_token: None })
}
