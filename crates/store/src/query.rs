//! The searches the store answers, already parsed: what a query asks,
//! apart from how it is lowered to SQL (`search_sql`) and run (`read`).

use almanac_core::model::ViewType;
use almanac_core::search::{Filter, OrderBy};

/// A run search, already parsed.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Option<Filter>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ExperimentQuery {
    pub filter: Option<Filter>,
    pub order_by: Vec<OrderBy>,
    pub view: ViewType,
    pub limit: i64,
    pub offset: i64,
}

/// A logged-model search, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ModelQuery {
    pub experiment_ids: Vec<String>,
    pub filter: Option<Filter>,
    /// Metric filters count only metrics on these datasets; without a metric
    /// filter, only models with some metric on them match (MLflow's rule).
    pub datasets: Vec<DatasetFilter>,
    pub order_by: Vec<ModelOrder>,
    pub limit: i64,
    pub offset: i64,
}

/// A dataset by name, and by digest if given.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetFilter {
    pub name: String,
    pub digest: Option<String>,
}

/// One logged-model sort key: an attribute (`name`, `creation_timestamp`, …)
/// or `metrics.<key>`, whose latest value sorts, counting only metrics on
/// the given dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOrder {
    pub field: String,
    pub ascending: bool,
    pub dataset_name: Option<String>,
    pub dataset_digest: Option<String>,
}
