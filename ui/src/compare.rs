//! Runs side by side: params, metrics and tags in one table, with an
//! "only differences" switch and deltas against a baseline run.

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, Run, TableQuery};
use crate::charts::Charts;
use crate::format;
use crate::route::Route;
use crate::widgets::{Empty, ErrorBox, Loading, Remote, input_value};

#[derive(Properties, PartialEq)]
pub struct CompareProps {
    pub runs: Vec<String>,
}

#[component]
pub fn Compare(props: &CompareProps) -> Html {
    let runs = use_state(|| Remote::<Vec<Run>>::Loading);
    let only_diff = use_state(|| false);
    let baseline = use_state(|| 0usize);
    {
        let runs = runs.clone();
        use_effect_with(props.runs.clone(), move |ids| {
            let ids = ids.clone();
            spawn_local(async move {
                let mut out = Vec::new();
                for id in &ids {
                    match api::run(id).await {
                        Ok(r) => out.push(r),
                        Err(e) => {
                            runs.set(Remote::Failed(e));
                            return;
                        }
                    }
                }
                runs.set(Remote::Ready(out));
            });
        });
    }
    let runs = match &*runs {
        Remote::Loading => return html! { <Loading /> },
        Remote::Failed(e) => return html! { <div class="page"><ErrorBox error={e.clone()} /></div> },
        Remote::Ready(r) if r.is_empty() => {
            return html! { <Empty title="No runs to compare">{ "Select runs in a table and press Compare." }</Empty> };
        }
        Remote::Ready(r) => r.clone(),
    };
    let base = (*baseline).min(runs.len() - 1);
    // (kind, key, each run's value as shown, each run's number for deltas)
    type Row = (String, String, Vec<Option<String>>, Vec<Option<f64>>);
    let mut rows: Vec<Row> = Vec::new();
    let keys = |kind: &str, get: &dyn Fn(&Run) -> Vec<String>| {
        let mut all: Vec<String> = runs.iter().flat_map(get).collect();
        all.sort();
        all.dedup();
        all.into_iter().map(|k| (kind.to_string(), k)).collect::<Vec<_>>()
    };
    let param_keys = keys("param", &|r: &Run| r.data.params.iter().map(|p| p.key.clone()).collect());
    let metric_keys = keys("metric", &|r: &Run| r.data.metrics.iter().map(|m| m.key.clone()).collect());
    let tag_keys = keys("tag", &|r: &Run| {
        r.data.tags.iter().filter(|t| !t.key.starts_with("mlflow.")).map(|t| t.key.clone()).collect()
    });
    for (kind, key) in param_keys.into_iter().chain(metric_keys).chain(tag_keys) {
        let values: Vec<Option<String>> = runs
            .iter()
            .map(|r| match kind.as_str() {
                "param" => r.param(&key).map(str::to_string),
                "metric" => r.metric(&key).map(format::number),
                _ => r.tag(&key).map(str::to_string),
            })
            .collect();
        let numbers: Vec<Option<f64>> =
            runs.iter().map(|r| if kind == "metric" { r.metric(&key) } else { None }).collect();
        let differs = values.iter().any(|v| v != &values[0]);
        if *only_diff && !differs {
            continue;
        }
        rows.push((kind, key, values, numbers));
    }
    html! {
        <div class="page compare wide">
            <h1>{ format!("Comparing {} runs", runs.len()) }</h1>
            <Charts runs={runs.clone()} />
            <Importance experiment_id={runs[0].info.experiment_id.clone()} />
            <h2>{ "Differences" }</h2>
            <div class="toolbar">
                <label class="check"><input type="checkbox" class="only-diff" checked={*only_diff} onchange={ let d = only_diff.clone(); move |_| d.set(!*d) } />{ "Only differences" }</label>
                <label>{ "Baseline " }
                    <select onchange={ let b = baseline.clone(); move |e: Event| b.set(input_value(&e).parse().unwrap_or(0)) }>
                        { for runs.iter().enumerate().map(|(i, r)| html! { <option value={i.to_string()} selected={i == base}>{ r.name() }</option> }) }
                    </select>
                </label>
            </div>
            <table class="kv diff">
                <thead><tr><th></th>
                    { for runs.iter().map(|r| html! { <th><a href={Route::Run { experiment_id: r.info.experiment_id.clone(), run_id: r.info.run_id.clone() }.href()}>{ r.name() }</a></th> }) }
                </tr></thead>
                <tbody>
                { for rows.iter().map(|(kind, key, values, numbers)| {
                    let differs = values.iter().any(|v| v != &values[0]);
                    html! {
                        <tr class={classes!(differs.then_some("differs"))}>
                            <td><small class="muted">{ kind }</small>{ " " }{ key }</td>
                            { for values.iter().enumerate().map(|(i, v)| {
                                let delta = match (numbers[i], numbers[base]) {
                                    (Some(a), Some(b)) if i != base && a != b => Some(format!(" ({}{})", if a > b { "+" } else { "" }, format::number(a - b))),
                                    _ => None,
                                };
                                html! { <td class="value">{ v.clone().unwrap_or_else(|| "—".into()) }<small class="delta">{ delta.unwrap_or_default() }</small></td> }
                            }) }
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ImportanceProps {
    experiment_id: String,
}

/// Which params matter to a metric, over the experiment's runs (up to
/// 2,000): correlation, and permutation importance under a random forest.
#[component]
fn Importance(props: &ImportanceProps) -> Html {
    let runs = use_state(|| Remote::<Vec<Run>>::Loading);
    let metric = use_state(String::new);
    {
        let runs = runs.clone();
        use_effect_with(props.experiment_id.clone(), move |exp| {
            let exp = exp.clone();
            spawn_local(async move {
                let mut all = Vec::new();
                for offset in [0, 1000] {
                    let q = TableQuery { experiment_ids: vec![exp.clone()], offset, limit: 1000, ..Default::default() };
                    match api::run_table(&q).await {
                        Ok(w) => {
                            let done = w.runs.len() < 1000;
                            all.extend(w.runs);
                            if done {
                                break;
                            }
                        }
                        Err(e) => {
                            runs.set(Remote::Failed(e));
                            return;
                        }
                    }
                }
                runs.set(Remote::Ready(all));
            });
        });
    }
    let runs = match &*runs {
        Remote::Loading => return html! { <Loading /> },
        Remote::Failed(e) => return html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready(r) => r.clone(),
    };
    let mut metrics: Vec<String> = runs.iter().flat_map(|r| r.data.metrics.iter().map(|m| m.key.clone())).collect();
    metrics.sort();
    metrics.dedup();
    let mut params: Vec<String> = runs.iter().flat_map(|r| r.data.params.iter().map(|m| m.key.clone())).collect();
    params.sort();
    params.dedup();
    let chosen = if metric.is_empty() { metrics.first().cloned().unwrap_or_default() } else { (*metric).clone() };
    let target: Vec<f64> = runs.iter().map(|r| r.metric(&chosen).unwrap_or(f64::NAN)).collect();
    let columns: Vec<almanac_charts::importance::ParamColumn> =
        params.iter().map(|p| (p.clone(), runs.iter().map(|r| r.param(p).map(str::to_string)).collect())).collect();
    let mut scores = almanac_charts::importance::importance(&columns, &target, 17);
    scores.sort_by(|a, b| b.importance.total_cmp(&a.importance));
    html! {
        <section class="card importance">
            <h2>{ "Parameter importance" }</h2>
            <div class="toolbar">
                <label>{ "against " }
                    <select class="importance-metric" onchange={ let m = metric.clone(); move |e: Event| m.set(input_value(&e)) }>
                        { for metrics.iter().map(|k| html! { <option value={k.clone()} selected={*k == chosen}>{ k.clone() }</option> }) }
                    </select>
                </label>
                <span class="muted">{ format!("over {} runs of this experiment", target.iter().filter(|t| t.is_finite()).count()) }</span>
            </div>
            if scores.is_empty() {
                <div class="muted">{ "No params to rank." }</div>
            } else {
                <table class="kv importance-table">
                    <thead><tr><th>{ "Param" }</th><th>{ "Importance" }</th><th class="num">{ "Correlation" }</th></tr></thead>
                    <tbody>
                    { for scores.iter().map(|s| html! {
                        <tr data-param={s.name.clone()}>
                            <td>{ &s.name }</td>
                            <td><span class="bar" style={format!("width: {:.0}px", s.importance * 200.0)}></span>{ format!(" {:.2}", s.importance) }</td>
                            <td class="num">{ s.correlation.map(|c| format!("{c:+.2}")).unwrap_or_else(|| "—".into()) }</td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            }
        </section>
    }
}
