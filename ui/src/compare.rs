//! Runs side by side: params, metrics and tags in one table, with an
//! "only differences" switch and deltas against a baseline run.

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, Run};
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
        <div class="page compare">
            <h1>{ format!("Comparing {} runs", runs.len()) }</h1>
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
