//! The hash routes, which follow MLflow's UI so that the links the mlflow
//! client prints ("View run at …/#/experiments/1/runs/abc") open here.
//! Pure: parsing and printing are tested natively.

/// Where the UI is. Every view has one, so any view can be pasted to a teammate.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Route {
    /// The experiment list with the default experiment open.
    #[default]
    Home,
    Experiment {
        id: String,
        view: TableView,
    },
    Run {
        experiment_id: String,
        run_id: String,
    },
    /// An experiment's GenAI traces.
    Traces {
        experiment_id: String,
    },
    Compare {
        runs: Vec<String>,
    },
    /// A saved comparison, opened by its link.
    View {
        id: String,
    },
    Models,
    Model {
        name: String,
    },
    ModelVersion {
        name: String,
        version: String,
    },
    Prompts,
    Prompt {
        name: String,
    },
    NotFound(String),
}

/// The runs table's state that a link carries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableView {
    pub filter: String,
    /// An MLflow order-by clause, such as ``metrics.`loss` ASC``.
    pub order_by: String,
    /// `params.<key>` or `tags.<key>` to group by.
    pub group_by: String,
}

impl Route {
    /// Parses `location.hash` (with or without the leading `#`).
    pub fn parse(hash: &str) -> Route {
        let hash = hash.strip_prefix('#').unwrap_or(hash);
        let (path, query) = hash.split_once('?').unwrap_or((hash, ""));
        let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
        let query = parse_query(query);
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
        match parts.as_slice() {
            [] => Route::Home,
            ["experiments", id] => Route::Experiment {
                id: id.to_string(),
                view: TableView { filter: get("filter"), order_by: get("order_by"), group_by: get("group_by") },
            },
            ["experiments", exp, "traces"] => Route::Traces { experiment_id: exp.to_string() },
            // MLflow adds tabs after the run id (`/artifacts/...`, `/model-metrics`).
            ["experiments", exp, "runs", run, ..] => {
                Route::Run { experiment_id: exp.to_string(), run_id: run.to_string() }
            }
            ["compare-runs"] => Route::Compare { runs: parse_id_list(&get("runs")) },
            ["views", id] => Route::View { id: id.to_string() },
            ["models"] => Route::Models,
            ["models", name] => Route::Model { name: name.to_string() },
            ["models", name, "versions", v] => Route::ModelVersion { name: name.to_string(), version: v.to_string() },
            ["prompts"] => Route::Prompts,
            ["prompts", name] => Route::Prompt { name: name.to_string() },
            _ => Route::NotFound(hash.to_string()),
        }
    }

    /// The hash for this route, starting with `#`.
    pub fn href(&self) -> String {
        match self {
            Route::Home => "#/".into(),
            Route::Experiment { id, view } => {
                let mut out = format!("#/experiments/{}", encode(id));
                let params: Vec<String> =
                    [("filter", &view.filter), ("order_by", &view.order_by), ("group_by", &view.group_by)]
                        .into_iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| format!("{k}={}", encode(v)))
                        .collect();
                if !params.is_empty() {
                    out.push('?');
                    out.push_str(&params.join("&"));
                }
                out
            }
            Route::Run { experiment_id, run_id } => {
                format!("#/experiments/{}/runs/{}", encode(experiment_id), encode(run_id))
            }
            Route::Traces { experiment_id } => format!("#/experiments/{}/traces", encode(experiment_id)),
            Route::Compare { runs } => {
                let list = serde_json::to_string(runs).unwrap_or_else(|_| "[]".into());
                format!("#/compare-runs?runs={}", encode(&list))
            }
            Route::View { id } => format!("#/views/{}", encode(id)),
            Route::Models => "#/models".into(),
            Route::Model { name } => format!("#/models/{}", encode(name)),
            Route::ModelVersion { name, version } => format!("#/models/{}/versions/{}", encode(name), encode(version)),
            Route::Prompts => "#/prompts".into(),
            Route::Prompt { name } => format!("#/prompts/{}", encode(name)),
            Route::NotFound(raw) => format!("#{raw}"),
        }
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(&v.replace('+', " ")))
        })
        .collect()
}

/// MLflow writes `runs=["a","b"]` (JSON); a comma list is accepted as well.
fn parse_id_list(raw: &str) -> Vec<String> {
    if let Ok(ids) = serde_json::from_str::<Vec<String>>(raw) {
        return ids;
    }
    raw.split(',').map(|s| s.trim().trim_matches('"').to_string()).filter(|s| !s.is_empty()).collect()
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes; malformed escapes are kept as they are.
pub fn decode(s: &str) -> String {
    almanac_core::validation::percent_decode(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_links_parse() {
        let cases = [
            ("", Route::Home),
            ("#/", Route::Home),
            ("#/experiments/0", Route::Experiment { id: "0".into(), view: TableView::default() }),
            ("#/experiments/12/runs/abc", Route::Run { experiment_id: "12".into(), run_id: "abc".into() }),
            (
                "#/experiments/12/runs/abc/artifacts/model/MLmodel",
                Route::Run { experiment_id: "12".into(), run_id: "abc".into() },
            ),
            (
                "#/compare-runs?runs=[%22a%22,%22b%22]&experiments=[%220%22]",
                Route::Compare { runs: vec!["a".into(), "b".into()] },
            ),
            ("#/compare-runs?runs=a,b", Route::Compare { runs: vec!["a".into(), "b".into()] }),
            ("#/experiments/7/traces", Route::Traces { experiment_id: "7".into() }),
            ("#/models", Route::Models),
            ("#/models/churn%20model", Route::Model { name: "churn model".into() }),
            ("#/models/churn/versions/3", Route::ModelVersion { name: "churn".into(), version: "3".into() }),
            ("#/prompts/greet", Route::Prompt { name: "greet".into() }),
            ("#/nowhere/at/all", Route::NotFound("/nowhere/at/all".into())),
            (
                "#/experiments/0?filter=metrics.loss%20%3C%201&order_by=metrics.%60loss%60%20ASC&group_by=params.lr",
                Route::Experiment {
                    id: "0".into(),
                    view: TableView {
                        filter: "metrics.loss < 1".into(),
                        order_by: "metrics.`loss` ASC".into(),
                        group_by: "params.lr".into(),
                    },
                },
            ),
        ];
        for (hash, expected) in cases {
            assert_eq!(Route::parse(hash), expected, "{hash}");
        }
    }

    #[test]
    fn every_route_survives_printing_and_parsing() {
        let routes = [
            Route::Home,
            Route::Traces { experiment_id: "a b".into() },
            Route::Experiment {
                id: "7".into(),
                view: TableView {
                    filter: "params.x = 'a&b=c' AND tags.t LIKE '%z'".into(),
                    order_by: "".into(),
                    group_by: "tags.team".into(),
                },
            },
            Route::Run { experiment_id: "7".into(), run_id: "r1".into() },
            Route::Compare { runs: vec!["r1".into(), "r2".into()] },
            Route::View { id: "v1".into() },
            Route::Models,
            Route::Model { name: "a/b c?".into() },
            Route::ModelVersion { name: "m".into(), version: "2".into() },
            Route::Prompts,
            Route::Prompt { name: "p#1".into() },
        ];
        for route in routes {
            assert_eq!(Route::parse(&route.href()), route, "{}", route.href());
        }
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%41"), "%zzA");
    }
}
