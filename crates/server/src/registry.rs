//! The model registry: registered models, versions, aliases, stages and
//! tags (prompts are registered models, served by the same routes).

use almanac_api::{ApiError, App};
use almanac_core::model::Tag;
use almanac_wire as wire;
use axum::routing::MethodFilter;

use crate::input::{Input, tags_of};
use crate::reply::{GET_OR_POST, Route, empty, reply};

/// Under `/api/2.0/mlflow` (and its `/ajax-api` mirror).
pub const ROUTES: &[Route] = &[
    ("/registered-models/create", MethodFilter::POST, create_registered_model),
    ("/registered-models/get", MethodFilter::GET, get_registered_model),
    ("/registered-models/rename", MethodFilter::POST, rename_registered_model),
    ("/registered-models/update", MethodFilter::PATCH, update_registered_model),
    ("/registered-models/delete", MethodFilter::DELETE, delete_registered_model),
    ("/registered-models/search", MethodFilter::GET, search_registered_models),
    ("/registered-models/get-latest-versions", GET_OR_POST, get_latest_versions),
    ("/registered-models/set-tag", MethodFilter::POST, set_registered_model_tag),
    ("/registered-models/delete-tag", MethodFilter::DELETE, delete_registered_model_tag),
    ("/registered-models/alias", MethodFilter::POST, set_registered_model_alias),
    ("/registered-models/alias", MethodFilter::DELETE, delete_registered_model_alias),
    ("/registered-models/alias", MethodFilter::GET, get_model_version_by_alias),
    ("/model-versions/create", MethodFilter::POST, create_model_version),
    ("/model-versions/get", MethodFilter::GET, get_model_version),
    ("/model-versions/update", MethodFilter::PATCH, update_model_version),
    ("/model-versions/delete", MethodFilter::DELETE, delete_model_version),
    ("/model-versions/search", MethodFilter::GET, search_model_versions),
    ("/model-versions/get-download-uri", MethodFilter::GET, get_model_version_download_uri),
    ("/model-versions/transition-stage", MethodFilter::POST, transition_model_version_stage),
    ("/model-versions/set-tag", MethodFilter::POST, set_model_version_tag),
    ("/model-versions/delete-tag", MethodFilter::DELETE, delete_model_version_tag),
];

fn version_of(r: &Input) -> Result<i64, ApiError> {
    let raw = match r.opt_i64("version") {
        Ok(Some(n)) => return Ok(n),
        _ => r.req_str("version")?,
    };
    Ok(almanac_core::registry::parse_version(&raw)?)
}

fn registered_model_reply(m: &almanac_core::model::RegisteredModel) -> Result<Vec<u8>, ApiError> {
    reply(&wire::RegisteredModelReply { registered_model: m.into() })
}

fn model_version_reply(v: &almanac_core::model::ModelVersion) -> Result<Vec<u8>, ApiError> {
    reply(&wire::ModelVersionReply { model_version: wire::ModelVersion::new(v, true) })
}

fn registry_search(r: &Input) -> Result<almanac_api::SearchRegistry, ApiError> {
    Ok(almanac_api::SearchRegistry {
        filter: r.opt_str("filter")?.unwrap_or_default(),
        order_by: r.str_list("order_by")?,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })
}

fn create_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let m = app.create_registered_model(&r.req_str("name")?, tags_of(r, "tags")?, r.opt_str("description")?)?;
    registered_model_reply(&m)
}

fn get_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    registered_model_reply(&app.registered_model(&r.req_str("name")?)?)
}

fn rename_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    registered_model_reply(&app.rename_registered_model(&r.req_str("name")?, &r.req_str("new_name")?)?)
}

fn update_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let description = r.opt_str("description")?.unwrap_or_default();
    registered_model_reply(&app.update_registered_model(&r.req_str("name")?, &description)?)
}

fn delete_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_registered_model(&r.req_str("name")?)?;
    reply(&empty())
}

fn search_registered_models(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let page = app.search_registered_models(&registry_search(r)?)?;
    reply(&wire::RegisteredModelsPage {
        registered_models: page.items.iter().map(wire::RegisteredModel::from).collect(),
        next_page_token: page.next_page_token,
    })
}

fn get_latest_versions(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let versions = app.latest_versions(&r.req_str("name")?, &r.str_list("stages")?)?;
    let model_versions = versions.iter().map(|v| wire::ModelVersion::new(v, false)).collect();
    reply(&wire::ModelVersionsPage { model_versions, next_page_token: None })
}

fn set_registered_model_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_registered_model_tag(&r.req_str("name")?, tag)?;
    reply(&empty())
}

fn delete_registered_model_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_registered_model_tag(&r.req_str("name")?, &r.req_str("key")?)?;
    reply(&empty())
}

fn set_registered_model_alias(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.set_registered_model_alias(&r.req_str("name")?, &r.req_str("alias")?, version_of(r)?)?;
    reply(&empty())
}

fn delete_registered_model_alias(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_registered_model_alias(&r.req_str("name")?, &r.req_str("alias")?)?;
    reply(&empty())
}

fn get_model_version_by_alias(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    model_version_reply(&app.model_version_by_alias(&r.req_str("name")?, &r.req_str("alias")?)?)
}

fn create_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let v = app.create_model_version(almanac_api::CreateModelVersion {
        name: r.req_str("name")?,
        source: r.req_str("source")?,
        run_id: r.opt_str("run_id")?,
        run_link: r.opt_str("run_link")?,
        description: r.opt_str("description")?,
        model_id: r.opt_str("model_id")?,
        tags: tags_of(r, "tags")?,
    })?;
    model_version_reply(&v)
}

fn get_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    model_version_reply(&app.model_version(&r.req_str("name")?, version_of(r)?)?)
}

fn update_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let description = r.opt_str("description")?.unwrap_or_default();
    model_version_reply(&app.update_model_version(&r.req_str("name")?, version_of(r)?, &description)?)
}

fn delete_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_model_version(&r.req_str("name")?, version_of(r)?)?;
    reply(&empty())
}

fn search_model_versions(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let page = app.search_model_versions(&registry_search(r)?)?;
    reply(&wire::ModelVersionsPage {
        model_versions: page.items.iter().map(|v| wire::ModelVersion::new(v, false)).collect(),
        next_page_token: page.next_page_token,
    })
}

fn get_model_version_download_uri(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&wire::DownloadUri { artifact_uri: app.model_version_download_uri(&r.req_str("name")?, version_of(r)?)? })
}

fn transition_model_version_stage(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let v = app.transition_model_version_stage(
        &r.req_str("name")?,
        version_of(r)?,
        &r.req_str("stage")?,
        r.opt_bool("archive_existing_versions")?.unwrap_or(false),
    )?;
    model_version_reply(&v)
}

fn set_model_version_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_model_version_tag(&r.req_str("name")?, version_of(r)?, tag)?;
    reply(&empty())
}

fn delete_model_version_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_model_version_tag(&r.req_str("name")?, version_of(r)?, &r.req_str("key")?)?;
    reply(&empty())
}
