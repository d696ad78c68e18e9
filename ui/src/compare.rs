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
            <SavedViews runs={runs.clone()} />
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

#[derive(Properties, PartialEq)]
struct SavedViewsProps {
    runs: Vec<Run>,
}

/// Save this comparison (runs and chart choices) under a name, and list the
/// experiment's saved views. Views live in the store and sync with it.
#[component]
fn SavedViews(props: &SavedViewsProps) -> Html {
    let experiment = props.runs[0].info.experiment_id.clone();
    let views = use_state(Vec::<api::SavedView>::new);
    let name = use_state(String::new);
    let error = use_state(|| None::<api::ApiError>);
    let saved = use_state(|| None::<api::SavedView>);
    let reload = use_state(|| 0u32);
    {
        let (views, error) = (views.clone(), error.clone());
        use_effect_with((experiment.clone(), *reload), move |(exp, _)| {
            let exp = exp.clone();
            spawn_local(async move {
                match api::saved_views(&exp).await {
                    Ok(v) => views.set(v),
                    Err(e) => error.set(Some(e)),
                }
            });
        });
    }
    let save = {
        let (name, error, saved, reload) = (name.clone(), error.clone(), saved.clone(), reload.clone());
        let runs: Vec<String> = props.runs.iter().map(|r| r.info.run_id.clone()).collect();
        let experiment = experiment.clone();
        Callback::from(move |_| {
            let charts: serde_json::Value =
                crate::dom::load(&crate::charts::settings_key(&experiment)).unwrap_or(serde_json::Value::Null);
            let spec = serde_json::json!({ "runs": runs, "charts": charts });
            let (title, experiment) = ((*name).clone(), experiment.clone());
            let (name, error, saved, reload) = (name.clone(), error.clone(), saved.clone(), reload.clone());
            spawn_local(async move {
                match api::save_view(&experiment, &title, &spec).await {
                    Ok(v) => {
                        saved.set(Some(v));
                        name.set(String::new());
                        error.set(None);
                        reload.set(*reload + 1);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    html! {
        <div class="saved-views toolbar">
            <input class="view-name" placeholder="Name this view" value={(*name).clone()} aria-label="View name"
                oninput={ let n = name.clone(); move |e: InputEvent| n.set(crate::widgets::input_text(&e)) } />
            <button class="save-view" onclick={save} disabled={name.trim().is_empty()}>{ "Save view" }</button>
            if let Some(v) = &*saved {
                <span class="notice">{ "Saved: " }<a href={crate::route::Route::View { id: v.view_id.clone() }.href()}>{ &v.name }</a></span>
            }
            if !views.is_empty() {
                <span class="muted">{ "Saved views:" }</span>
                { for views.iter().map(|v| html! {
                    <a class="chip saved-view" href={crate::route::Route::View { id: v.view_id.clone() }.href()}>{ &v.name }</a>
                }) }
            }
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ViewPageProps {
    pub id: String,
}

/// A saved view opened by its link: its chart choices are restored, then
/// the comparison shows its runs.
#[component]
pub fn ViewPage(props: &ViewPageProps) -> Html {
    let view = use_state(|| Remote::<(String, Vec<String>)>::Loading);
    {
        let view = view.clone();
        use_effect_with(props.id.clone(), move |id| {
            let id = id.clone();
            spawn_local(async move {
                view.set(match api::saved_view(&id).await {
                    Ok(v) => {
                        let spec: serde_json::Value = serde_json::from_str(&v.spec).unwrap_or_default();
                        if let Some(charts) = spec.get("charts").filter(|c| c.is_object()) {
                            crate::dom::save(&crate::charts::settings_key(&v.experiment_id), charts);
                        }
                        let runs = spec
                            .get("runs")
                            .and_then(|r| r.as_array())
                            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                            .unwrap_or_default();
                        Remote::Ready((v.name, runs))
                    }
                    Err(e) => Remote::Failed(e),
                });
            });
        });
    }
    match &*view {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <div class="page"><ErrorBox error={e.clone()} /></div> },
        Remote::Ready((name, runs)) => html! {
            <div>
                <div class="view-title page"><span class="muted">{ "Saved view: " }</span><strong>{ name }</strong></div>
                <Compare runs={runs.clone()} />
            </div>
        },
    }
}
