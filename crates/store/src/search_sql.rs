//! Compiles the search AST to SQL. Every value is bound as a numbered
//! parameter (`?N`), never spliced into the text.

use almanac_core::model::ViewType;
use almanac_core::search::{Attribute, CompareOp, Comparison, DatasetField, Filter, Key, Literal, OrderBy};

use crate::Result;
use crate::query::{DatasetFilter, ModelQuery, RunQuery};
use rusqlite::Connection;
use rusqlite::types::Value;

#[derive(Default)]
pub(crate) struct Sql {
    pub params: Vec<Value>,
}

impl Sql {
    pub(crate) fn bind(&mut self, v: impl Into<Value>) -> String {
        self.params.push(v.into());
        format!("?{}", self.params.len())
    }

    /// Binds a list as one JSON array, read back with `json_each`: one
    /// placeholder however long the list is.
    pub fn bind_json_list(&mut self, items: &[String]) -> String {
        let json = serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
        self.bind(json)
    }
}

/// MLflow's LIKE is case-sensitive; SQLite's is not, so LIKE becomes GLOB.
fn like_to_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    for c in pattern.chars() {
        match c {
            '%' => out.push('*'),
            '_' => out.push('?'),
            '*' => out.push_str("[*]"),
            '?' => out.push_str("[?]"),
            '[' => out.push_str("[[]"),
            other => out.push(other),
        }
    }
    out
}

/// `column OP value` for a string or numeric column.
pub(crate) fn compare(column: &str, op: CompareOp, value: &Literal, sql: &mut Sql) -> String {
    let v = |sql: &mut Sql| match value {
        Literal::String(s) => sql.bind(s.clone()),
        Literal::Number(n) => sql.bind(*n),
        Literal::List(items) => sql.bind_json_list(items),
        Literal::None => "NULL".into(),
    };
    match op {
        CompareOp::Eq => format!("{column} = {}", v(sql)),
        CompareOp::Ne => format!("{column} != {}", v(sql)),
        CompareOp::Lt => format!("{column} < {}", v(sql)),
        CompareOp::Le => format!("{column} <= {}", v(sql)),
        CompareOp::Gt => format!("{column} > {}", v(sql)),
        CompareOp::Ge => format!("{column} >= {}", v(sql)),
        CompareOp::Like => match value {
            Literal::String(s) => format!("{column} GLOB {}", sql.bind(like_to_glob(s))),
            _ => "0".into(),
        },
        CompareOp::ILike => format!("lower({column}) LIKE lower({})", v(sql)),
        CompareOp::In => format!("{column} IN (SELECT value FROM json_each({}))", v(sql)),
        CompareOp::NotIn => format!("{column} NOT IN (SELECT value FROM json_each({}))", v(sql)),
        CompareOp::IsNull => format!("{column} IS NULL"),
        CompareOp::IsNotNull => format!("{column} IS NOT NULL"),
    }
}

/// A key-value side table (params, tags, latest metrics): a run matches when
/// it has the key and the value compares true; `IS NULL` means "has no such
/// key". This is MLflow's join semantics: `!=` never matches a run that lacks
/// the key. Correlated `EXISTS` lookups hit the side table's primary key, and
/// let SQLite stop scanning as soon as a page is full.
pub(crate) fn keyed(table: &str, owner: &str, outer: &str, name: &str, c: &Comparison, sql: &mut Sql) -> String {
    let key = sql.bind(name.to_string());
    let lookup = format!("SELECT 1 FROM {table} k WHERE k.{owner} = {outer} AND k.key = {key}");
    // NaN is stored as NULL with is_nan set; it is "not equal" to every number.
    let nan = (table == "latest_metrics").then_some("k.is_nan = 1");
    keyed_lookup(&lookup, nan, c, sql)
}

/// `keyed` over any lookup of rows `k` with a `value` column; `nan` tells a
/// stored NaN, which `!=` counts as unequal to every number.
fn keyed_lookup(lookup: &str, nan: Option<&str>, c: &Comparison, sql: &mut Sql) -> String {
    match (c.op, nan) {
        (CompareOp::IsNull, _) => format!("NOT EXISTS ({lookup})"),
        (CompareOp::IsNotNull, _) => format!("EXISTS ({lookup})"),
        (CompareOp::Ne, Some(nan)) => {
            let cond = compare("k.value", CompareOp::Ne, &c.value, sql);
            format!("EXISTS ({lookup} AND ({cond} OR {nan}))")
        }
        (op, _) => format!("EXISTS ({lookup} AND {})", compare("k.value", op, &c.value, sql)),
    }
}

pub(crate) fn run_filter(f: &Filter, sql: &mut Sql) -> String {
    match f {
        Filter::And(parts) => join_with(parts, " AND ", sql, run_filter),
        Filter::Or(parts) => join_with(parts, " OR ", sql, run_filter),
        Filter::Compare(c) => match &c.key {
            Key::Metric(name) => keyed("latest_metrics", "run_pk", "r.pk", name, c, sql),
            Key::Param(name) => keyed("params", "run_pk", "r.pk", name, c, sql),
            Key::Tag(name) => keyed("run_tags", "run_pk", "r.pk", name, c, sql),
            Key::Attribute(a) => compare(run_column(*a), c.op, &c.value, sql),
            // Only trace searches have metadata keys; runs have none.
            Key::Metadata(_) => "0".to_string(),
            Key::Dataset(field) => {
                let column = match field {
                    DatasetField::Name => "d.name",
                    DatasetField::Digest => "d.digest",
                    DatasetField::Context => "i.context",
                };
                let from = "SELECT 1 FROM run_inputs i JOIN datasets d ON d.pk = i.dataset_pk WHERE i.run_pk = r.pk";
                match c.op {
                    CompareOp::IsNull => format!("NOT EXISTS ({from} AND {column} IS NOT NULL)"),
                    op => format!("EXISTS ({from} AND {})", compare(column, op, &c.value, sql)),
                }
            }
        },
    }
}

pub(crate) fn join_with(parts: &[Filter], sep: &str, sql: &mut Sql, each: fn(&Filter, &mut Sql) -> String) -> String {
    let inner: Vec<String> = parts.iter().map(|p| each(p, sql)).collect();
    format!("({})", inner.join(sep))
}

pub(crate) fn run_column(a: Attribute) -> &'static str {
    match a {
        Attribute::RunId => "r.run_id",
        Attribute::RunName => "r.run_name",
        Attribute::Status => "r.status",
        Attribute::StartTime => "r.start_time",
        Attribute::EndTime => "r.end_time",
        Attribute::UserId => "r.user_id",
        Attribute::ArtifactUri => "r.artifact_uri",
        Attribute::LifecycleStage => "r.lifecycle_stage",
        // Experiment attributes never reach a run query: the parser refuses them.
        _ => "NULL",
    }
}

/// The whole run search: `SELECT r.pk FROM runs r ... ORDER BY ... LIMIT`.
pub(crate) fn run_select(q: &RunQuery, sql: &mut Sql) -> String {
    let wheres = run_where(q, sql);
    let (joins, order) = run_order(&q.order_by, q.filter.as_ref(), sql);
    format!(
        "SELECT r.pk FROM runs r{joins} WHERE {wheres} ORDER BY {order} LIMIT {} OFFSET {}",
        q.limit.saturating_add(1),
        q.offset
    )
}

/// The WHERE clause of a run search over `runs r`: experiments, lifecycle
/// stage and filter, without order or paging.
pub(crate) fn run_where(q: &RunQuery, sql: &mut Sql) -> String {
    let mut wheres = Vec::new();
    // One experiment (the common case) as `=`, so the (experiment_id,
    // start_time, run_id) index also serves the default order.
    match q.experiment_ids.as_slice() {
        [one] => wheres.push(format!("r.experiment_id = {}", sql.bind(one.clone()))),
        many => wheres.push(format!("r.experiment_id IN (SELECT value FROM json_each({}))", sql.bind_json_list(many))),
    }
    wheres.push(format!("r.lifecycle_stage IN {}", view_stages(q.view)));
    if let Some(f) = &q.filter {
        wheres.push(run_filter(f, sql));
    }
    wheres.join(" AND ")
}

pub(crate) fn view_stages(view: ViewType) -> &'static str {
    match view {
        ViewType::ActiveOnly => "('active')",
        ViewType::DeletedOnly => "('deleted')",
        ViewType::All => "('active', 'deleted')",
    }
}

/// Whether every run the filter admits has a numeric (non-NaN) latest value
/// for metric `key`: then ordering by that metric needs no NaN or missing
/// cases, and SQLite can walk the metric's (key, value) index in order.
fn requires_number(filter: Option<&Filter>, key: &str) -> bool {
    match filter {
        Some(Filter::Compare(Comparison { key: Key::Metric(k), op, .. })) => {
            k == key && matches!(op, CompareOp::Eq | CompareOp::Lt | CompareOp::Le | CompareOp::Gt | CompareOp::Ge)
        }
        Some(Filter::And(parts)) => parts.iter().any(|p| requires_number(Some(p), key)),
        _ => false,
    }
}

/// Joins and ORDER BY terms for runs. Runs lacking an ordered key sort last
/// in both directions, as in MLflow; for metrics NaN comes just before
/// them. Ties fall back to start_time DESC, then run_id, so paging is stable.
fn run_order(order: &[OrderBy], filter: Option<&Filter>, sql: &mut Sql) -> (String, String) {
    let mut joins = String::new();
    let mut terms = Vec::new();
    let mut has_start_time = false;
    for (i, o) in order.iter().enumerate() {
        let dir = if o.ascending { "ASC" } else { "DESC" };
        let alias = format!("o{i}");
        match &o.key {
            Key::Metric(name) => {
                let key = sql.bind(name.clone());
                if i == 0 && requires_number(filter, name) {
                    joins.push_str(&format!(
                        " JOIN latest_metrics {alias} ON {alias}.run_pk = r.pk AND {alias}.key = {key}"
                    ));
                    terms.push(format!("{alias}.value {dir}"));
                } else {
                    joins.push_str(&format!(
                        " LEFT JOIN latest_metrics {alias} ON {alias}.run_pk = r.pk AND {alias}.key = {key}"
                    ));
                    terms.push(format!("{alias}.run_pk IS NULL, {alias}.is_nan, {alias}.value {dir}"));
                }
            }
            Key::Param(name) | Key::Tag(name) => {
                let table = if matches!(o.key, Key::Param(_)) { "params" } else { "run_tags" };
                let key = sql.bind(name.clone());
                joins.push_str(&format!(" LEFT JOIN {table} {alias} ON {alias}.run_pk = r.pk AND {alias}.key = {key}"));
                terms.push(format!("{alias}.value IS NULL, {alias}.value {dir}"));
            }
            Key::Attribute(a) => {
                has_start_time |= *a == Attribute::StartTime;
                let column = run_column(*a);
                terms.push(format!("{column} IS NULL, {column} {dir}"));
            }
            Key::Dataset(_) | Key::Metadata(_) => {}
        }
    }
    if !has_start_time {
        terms.push("r.start_time DESC".into());
    }
    terms.push("r.run_id ASC".into());
    (joins, terms.join(", "))
}

pub(crate) fn experiment_filter(f: &Filter, sql: &mut Sql) -> String {
    match f {
        Filter::And(parts) => join_with(parts, " AND ", sql, experiment_filter),
        Filter::Or(parts) => join_with(parts, " OR ", sql, experiment_filter),
        Filter::Compare(c) => match &c.key {
            Key::Tag(name) => keyed("experiment_tags", "experiment_id", "e.experiment_id", name, c, sql),
            Key::Attribute(a) => compare(experiment_column(*a), c.op, &c.value, sql),
            _ => "0".into(),
        },
    }
}

fn experiment_column(a: Attribute) -> &'static str {
    match a {
        Attribute::Name => "e.name",
        Attribute::ExperimentId => "e.experiment_id",
        Attribute::CreationTime => "e.creation_time",
        Attribute::LastUpdateTime => "e.last_update_time",
        _ => "NULL",
    }
}

pub(crate) fn experiment_order(order: &[OrderBy], _sql: &mut Sql) -> String {
    let mut terms: Vec<String> = order
        .iter()
        .filter_map(|o| match &o.key {
            Key::Attribute(a) => {
                Some(format!("{} {}", experiment_column(*a), if o.ascending { "ASC" } else { "DESC" }))
            }
            _ => None,
        })
        .collect();
    // MLflow's tie-breakers: experiment_id ASC by default, DESC after an explicit order.
    if order.is_empty() {
        terms.push("e.creation_time DESC".into());
        terms.push("e.experiment_id ASC".into());
    } else {
        terms.push("e.experiment_id DESC".into());
    }
    terms.join(", ")
}

/// Logged-model search: `SELECT m.model_id FROM logged_models m ...`.
pub(crate) fn model_select(q: &ModelQuery, sql: &mut Sql) -> String {
    let mut wheres = vec![
        format!("m.experiment_id IN (SELECT value FROM json_each({}))", sql.bind_json_list(&q.experiment_ids)),
        "m.lifecycle_stage = 'active'".to_string(),
    ];
    if let Some(f) = &q.filter {
        wheres.push(model_filter(f, &q.datasets, sql));
    }
    if !q.datasets.is_empty() && !q.filter.as_ref().is_some_and(has_metric) {
        let on = on_datasets(&q.datasets, sql);
        wheres.push(format!("m.model_id IN (SELECT model_id FROM logged_model_metrics WHERE {on})"));
    }
    let mut terms = Vec::new();
    let mut has_creation_time = false;
    for o in &q.order_by {
        let dir = if o.ascending { "ASC" } else { "DESC" };
        let column = match o.field.strip_prefix("metrics.") {
            Some(key) => {
                let key = sql.bind(key.to_string());
                let mut on = format!("mm.model_id = m.model_id AND mm.key = {key}");
                if let Some(name) = &o.dataset_name {
                    on.push_str(&format!(" AND mm.dataset_name = {}", sql.bind(name.clone())));
                }
                if let Some(digest) = &o.dataset_digest {
                    on.push_str(&format!(" AND mm.dataset_digest = {}", sql.bind(digest.clone())));
                }
                format!(
                    "(SELECT mm.value FROM logged_model_metrics mm WHERE {on} ORDER BY mm.timestamp DESC, mm.step DESC LIMIT 1)"
                )
            }
            None => match model_order_column(&o.field) {
                Some(column) => {
                    has_creation_time |= column == "m.creation_time";
                    column.to_string()
                }
                // The API layer refuses unknown fields before a query is built.
                None => continue,
            },
        };
        terms.push(format!("{column} IS NULL, {column} {dir}"));
    }
    if !has_creation_time {
        terms.push("m.creation_time DESC".into());
    }
    terms.push("m.model_id ASC".into());
    format!(
        "SELECT m.model_id FROM logged_models m WHERE {} ORDER BY {} LIMIT {} OFFSET {}",
        wheres.join(" AND "),
        terms.join(", "),
        q.limit.saturating_add(1),
        q.offset
    )
}

/// The column a logged-model attribute sorts by, under MLflow's names and aliases.
pub fn model_order_column(field: &str) -> Option<&'static str> {
    Some(match field {
        "name" => "m.name",
        "model_id" => "m.model_id",
        "experiment_id" => "m.experiment_id",
        "creation_time" | "creation_timestamp" | "creation_timestamp_ms" => "m.creation_time",
        "last_updated_timestamp" | "last_updated_timestamp_ms" => "m.last_update_time",
        "status" => "m.status",
        "model_type" => "m.model_type",
        "source_run_id" => "m.source_run_id",
        "artifact_location" => "m.artifact_location",
        _ => return None,
    })
}

fn has_metric(f: &Filter) -> bool {
    match f {
        Filter::And(parts) | Filter::Or(parts) => parts.iter().any(has_metric),
        Filter::Compare(c) => matches!(c.key, Key::Metric(_)),
    }
}

/// `(dataset_name = ? [AND dataset_digest = ?]) OR …` over `logged_model_metrics`.
fn on_datasets(datasets: &[DatasetFilter], sql: &mut Sql) -> String {
    let each: Vec<String> = datasets
        .iter()
        .map(|d| match &d.digest {
            Some(digest) => {
                format!(
                    "(dataset_name = {} AND dataset_digest = {})",
                    sql.bind(d.name.clone()),
                    sql.bind(digest.clone())
                )
            }
            None => format!("dataset_name = {}", sql.bind(d.name.clone())),
        })
        .collect();
    format!("({})", each.join(" OR "))
}

fn model_filter(f: &Filter, datasets: &[DatasetFilter], sql: &mut Sql) -> String {
    match f {
        Filter::And(parts) | Filter::Or(parts) => {
            let sep = if matches!(f, Filter::And(_)) { " AND " } else { " OR " };
            let inner: Vec<String> = parts.iter().map(|p| model_filter(p, datasets, sql)).collect();
            format!("({})", inner.join(sep))
        }
        Filter::Compare(c) => match &c.key {
            Key::Tag(name) => keyed("logged_model_tags", "model_id", "m.model_id", name, c, sql),
            Key::Param(name) => keyed("logged_model_params", "model_id", "m.model_id", name, c, sql),
            // As in MLflow, a model matches when any of its values of the
            // metric (on the given datasets) does.
            Key::Metric(name) => {
                let key = sql.bind(name.clone());
                let on =
                    if datasets.is_empty() { String::new() } else { format!(" AND {}", on_datasets(datasets, sql)) };
                let lookup =
                    format!("SELECT 1 FROM logged_model_metrics k WHERE k.model_id = m.model_id AND k.key = {key}{on}");
                // A model's NaN values are stored as NULL.
                keyed_lookup(&lookup, Some("k.value IS NULL"), c, sql)
            }
            Key::Attribute(a) => {
                let column = match a {
                    Attribute::Name => "m.name",
                    Attribute::ModelId => "m.model_id",
                    Attribute::ExperimentId => "m.experiment_id",
                    Attribute::SourceRunId => "m.source_run_id",
                    Attribute::ModelStatus => "m.status",
                    Attribute::ModelType => "m.model_type",
                    Attribute::CreationTime => "m.creation_time",
                    Attribute::LastUpdateTime => "m.last_update_time",
                    _ => "NULL",
                };
                compare(column, c.op, &c.value, sql)
            }
            Key::Metadata(_) | Key::Dataset(_) => "0".into(),
        },
    }
}

/// The key range of every path strictly under folder `dir`: `dir/` up to
/// `dir0` (`'0'` is the character after `'/'`). The root folder is `""`.
pub(crate) fn prefix_range(dir: &str) -> (String, String) {
    if dir.is_empty() { (String::new(), "\u{10FFFF}".to_string()) } else { (format!("{dir}/"), format!("{dir}0")) }
}

/// Runs a search that selects one key column with `LIMIT limit + 1`:
/// returns at most `limit` keys, and whether more follow.
pub(crate) fn keys_page(c: &Connection, text: &str, sql: &Sql, limit: i64) -> Result<(Vec<String>, bool)> {
    let mut keys: Vec<String> = c
        .prepare(text)?
        .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let more = keys.len() as i64 > limit;
    keys.truncate(limit.max(0) as usize);
    Ok((keys, more))
}
