//! MLflow's REST JSON, typed once. The server writes these shapes, the
//! MLflow client side (`almanac-mlflow`: import from and export to an MLflow
//! server) reads them, and the UI reads them too, so a field is named and
//! encoded in exactly one place.
//!
//! Decoding is protobuf's lenient JSON mapping (int64 as a number or a
//! string, doubles as "NaN"/"Infinity"); encoding is MLflow's (unset fields
//! and empty lists left out, NaN/±Infinity as strings). Conversions from
//! Almanac's domain types live beside each shape; the domain types carry no
//! wire attributes.

pub mod almanac;
pub mod codec;
pub mod models;
pub mod registry;
pub mod requests;
pub mod traces;
pub mod tracking;

pub use models::{LoggedModel, LoggedModelData, LoggedModelInfo, LoggedModelReply};
pub use registry::{AliasEntry, DownloadUri, ModelVersion, ModelVersionReply, RegisteredModel, RegisteredModelReply};
pub use tracking::{
    ArtifactListing, Dataset, DatasetInput, Experiment, ExperimentCreated, ExperimentReply, FileInfo, KeyValue, Metric,
    MetricRef, MetricRefs, Metrics, MetricsBulk, ModelInput, ModelOutput, Run, RunData, RunInfo, RunInfoReply,
    RunInputs, RunOutputs, RunReply,
};

use serde::{Deserialize, Serialize};

/// `{}`: the answer of every call that returns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Empty {}

/// MLflow's error body: `{"error_code": .., "message": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `/api/3.0/mlflow/server-info`, which the client reads before proxied
/// downloads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServerInfo {
    #[serde(default)]
    pub store_type: String,
    #[serde(default)]
    pub workspaces_enabled: bool,
}

/// A page of a listing: MLflow names the list after what it holds, so each
/// listing is its own struct; empty lists and a missing token are left out.
macro_rules! page {
    ($(#[$doc:meta])* $name:ident, $field:ident: $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            #[serde(default, skip_serializing_if = "Vec::is_empty")]
            pub $field: Vec<$item>,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub next_page_token: Option<String>,
        }
    };
}

page!(
    /// `experiments/search`.
    ExperimentsPage, experiments: Experiment
);
page!(
    /// `runs/search`.
    RunsPage, runs: Run
);
page!(
    /// `logged-models/search`.
    LoggedModelsPage, models: LoggedModel
);
page!(
    /// `registered-models/search`.
    RegisteredModelsPage, registered_models: RegisteredModel
);
page!(
    /// `model-versions/search` and `get-latest-versions`.
    ModelVersionsPage, model_versions: ModelVersion
);

/// A page token that is absent or empty means the last page.
pub fn next_token(token: &Option<String>) -> Option<&str> {
    token.as_deref().filter(|t| !t.is_empty())
}
