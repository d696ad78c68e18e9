//! The runs table's columns: what each shows, how it sorts, and how a
//! column choice is written down (`metrics.loss`, `params.lr`, `attributes.status`).

use crate::api::{Range, Run};
use crate::format;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Column {
    Name,
    Status,
    Start,
    Duration,
    User,
    Source,
    Metric(String),
    Param(String),
    Tag(String),
}

/// Which value of a metric the table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricView {
    #[default]
    Latest,
    Min,
    Max,
}

pub const SOURCE_TAG: &str = "mlflow.source.name";
pub const USER_TAG: &str = "mlflow.user";

/// Backticks keep keys with dots, spaces or dashes whole in MLflow's grammar.
pub fn quoted(key: &str) -> String {
    format!("`{}`", key.replace('`', ""))
}

impl Column {
    pub fn id(&self) -> String {
        match self {
            Column::Name => "attributes.run_name".into(),
            Column::Status => "attributes.status".into(),
            Column::Start => "attributes.start_time".into(),
            Column::Duration => "attributes.duration".into(),
            Column::User => "attributes.user_id".into(),
            Column::Source => "attributes.source".into(),
            Column::Metric(k) => format!("metrics.{k}"),
            Column::Param(k) => format!("params.{k}"),
            Column::Tag(k) => format!("tags.{k}"),
        }
    }

    pub fn from_id(id: &str) -> Option<Column> {
        let (kind, key) = id.split_once('.')?;
        Some(match (kind, key) {
            ("attributes", "run_name") => Column::Name,
            ("attributes", "status") => Column::Status,
            ("attributes", "start_time") => Column::Start,
            ("attributes", "duration") => Column::Duration,
            ("attributes", "user_id") => Column::User,
            ("attributes", "source") => Column::Source,
            ("metrics", k) if !k.is_empty() => Column::Metric(k.into()),
            ("params", k) if !k.is_empty() => Column::Param(k.into()),
            ("tags", k) if !k.is_empty() => Column::Tag(k.into()),
            _ => return None,
        })
    }

    pub fn title(&self) -> String {
        match self {
            Column::Name => "Run".into(),
            Column::Status => "Status".into(),
            Column::Start => "Started".into(),
            Column::Duration => "Duration".into(),
            Column::User => "User".into(),
            Column::Source => "Source".into(),
            Column::Metric(k) | Column::Param(k) | Column::Tag(k) => k.clone(),
        }
    }

    /// The order-by key for sorting on this column, if the server can sort on it.
    pub fn sort_key(&self) -> Option<String> {
        Some(match self {
            Column::Name => "attributes.run_name".into(),
            Column::Status => "attributes.status".into(),
            Column::Start => "attributes.start_time".into(),
            Column::User => "attributes.user_id".into(),
            Column::Duration => return None,
            Column::Source => format!("tags.{}", quoted(SOURCE_TAG)),
            Column::Metric(k) => format!("metrics.{}", quoted(k)),
            Column::Param(k) => format!("params.{}", quoted(k)),
            Column::Tag(k) => format!("tags.{}", quoted(k)),
        })
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Column::Metric(_) | Column::Duration)
    }

    /// The cell text for `run`.
    pub fn cell(&self, run: &Run, view: MetricView, range: Option<&Range>) -> String {
        match self {
            Column::Name => run.name().to_string(),
            Column::Status => run.info.status.clone(),
            Column::Start => format::time(run.info.start_time),
            Column::Duration => match run.info.end_time {
                Some(end) if end >= run.info.start_time => format::duration(end - run.info.start_time),
                _ => String::new(),
            },
            Column::User => {
                if run.info.user_id.is_empty() {
                    run.tag(USER_TAG).unwrap_or_default().to_string()
                } else {
                    run.info.user_id.clone()
                }
            }
            Column::Source => {
                run.tag(SOURCE_TAG).unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string()
            }
            Column::Metric(k) => match view {
                MetricView::Latest => format::opt_number(run.metric(k)),
                MetricView::Min => format::opt_number(range.and_then(|r| r.min)),
                MetricView::Max => format::opt_number(range.and_then(|r| r.max)),
            },
            Column::Param(k) => run.param(k).unwrap_or_default().to_string(),
            Column::Tag(k) => run.tag(k).unwrap_or_default().to_string(),
        }
    }
}

/// The columns a table starts with: attributes, then up to six metrics and
/// six params seen in the first rows.
pub fn defaults(runs: &[Run]) -> Vec<Column> {
    let mut cols = vec![Column::Name, Column::Status, Column::Start, Column::Duration, Column::User, Column::Source];
    let mut metrics: Vec<&str> = runs.iter().flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str())).collect();
    metrics.sort_unstable();
    metrics.dedup();
    let mut params: Vec<&str> = runs.iter().flat_map(|r| r.data.params.iter().map(|p| p.key.as_str())).collect();
    params.sort_unstable();
    params.dedup();
    cols.extend(metrics.into_iter().take(6).map(|k| Column::Metric(k.into())));
    cols.extend(params.into_iter().take(6).map(|k| Column::Param(k.into())));
    cols
}

/// Flips the sort when the same column is clicked again; a new column
/// starts descending for metrics (best loss first is a filter away) and
/// ascending otherwise.
pub fn next_order(current: &str, column: &Column) -> Option<String> {
    let key = column.sort_key()?;
    let current = current.trim();
    Some(if let Some(rest) = current.strip_prefix(key.as_str()) {
        if rest.trim().eq_ignore_ascii_case("DESC") { format!("{key} ASC") } else { format!("{key} DESC") }
    } else if matches!(column, Column::Metric(_) | Column::Start) {
        format!("{key} DESC")
    } else {
        format!("{key} ASC")
    })
}

/// `Some(true)` when the table is sorted ascending on `column`.
pub fn sorted_ascending(current: &str, column: &Column) -> Option<bool> {
    let key = column.sort_key()?;
    let rest = current.trim().strip_prefix(key.as_str())?;
    match rest.trim().to_ascii_uppercase().as_str() {
        "" | "ASC" => Some(true),
        "DESC" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let cols = [
            Column::Name,
            Column::Status,
            Column::Start,
            Column::Duration,
            Column::User,
            Column::Source,
            Column::Metric("val.loss".into()),
            Column::Param("lr".into()),
            Column::Tag("mlflow.note.content".into()),
        ];
        for c in cols {
            assert_eq!(Column::from_id(&c.id()), Some(c.clone()), "{}", c.id());
        }
        assert_eq!(Column::from_id("metrics."), None);
        assert_eq!(Column::from_id("nonsense"), None);
    }

    #[test]
    fn clicking_a_header_cycles_the_order() {
        let loss = Column::Metric("val loss".into());
        let cases = [
            ("", &loss, Some("metrics.`val loss` DESC")),
            ("metrics.`val loss` DESC", &loss, Some("metrics.`val loss` ASC")),
            ("metrics.`val loss` ASC", &loss, Some("metrics.`val loss` DESC")),
            ("metrics.`val loss` DESC", &Column::Name, Some("attributes.run_name ASC")),
            ("", &Column::Duration, None),
        ];
        for (current, col, expected) in cases {
            assert_eq!(next_order(current, col).as_deref(), expected, "{current}");
        }
        assert_eq!(sorted_ascending("metrics.`val loss` ASC", &loss), Some(true));
        assert_eq!(sorted_ascending("metrics.`val loss` DESC", &loss), Some(false));
        assert_eq!(sorted_ascending("params.`x` ASC", &loss), None);
    }
}
