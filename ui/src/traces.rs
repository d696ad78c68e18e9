//! An experiment's GenAI traces: the list (time, name, state, duration,
//! request and response), and the selected trace's spans as a tree with
//! their inputs and outputs.

use yew::prelude::*;

use crate::api::{self, TraceInfoV3};
use crate::route::Route;
use crate::spans::{SpanRow, span_rows};
use crate::widgets::{Empty, ErrorBox, Loading, Remote, use_remote};

#[derive(Properties, PartialEq)]
pub struct TracesProps {
    pub experiment_id: String,
}

#[component]
pub fn TracesPage(props: &TracesProps) -> Html {
    let traces = use_remote(props.experiment_id.clone(), 0, |id| async move { api::traces(&id).await });
    let selected = use_state(|| None::<String>);
    let list = match &*traces {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready(list) if list.is_empty() => html! {
            <Empty title="No traces in this experiment yet">
                { "Trace an LLM app with the mlflow client:" }
                <pre>{ "import mlflow\n\n@mlflow.trace\ndef answer(question):\n    ...\n\nanswer(\"hello\")" }</pre>
            </Empty>
        },
        Remote::Ready(list) => html! {
            <table class="kv traces">
                <thead><tr><th>{ "Request time" }</th><th>{ "Name" }</th><th>{ "State" }</th><th>{ "Duration" }</th><th>{ "Request" }</th><th>{ "Response" }</th></tr></thead>
                <tbody>
                { for list.iter().map(|t| {
                    let id = t.trace_id.clone();
                    let onclick = { let selected = selected.clone(); move |_| selected.set(Some(id.clone())) };
                    let class = classes!("trace", (selected.as_deref() == Some(t.trace_id.as_str())).then_some("selected"));
                    html! {
                        <tr key={t.trace_id.clone()} {class} data-trace={t.trace_id.clone()}>
                            <td>{ t.request_time.replace('T', " ").trim_end_matches('Z').to_string() }</td>
                            <td><button class="link open-trace" {onclick}>{ if t.name().is_empty() { t.trace_id.as_str() } else { t.name() } }</button></td>
                            <td class={classes!("state", (t.state == "ERROR").then_some("warn"))}>{ &t.state }</td>
                            <td>{ t.execution_duration.clone().unwrap_or_default() }</td>
                            <td class="value preview">{ t.request_preview.clone().unwrap_or_default() }</td>
                            <td class="value preview">{ t.response_preview.clone().unwrap_or_default() }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        },
    };
    let detail = match (&*traces, &*selected) {
        (Remote::Ready(list), Some(id)) => list
            .iter()
            .find(|t| &t.trace_id == id)
            .map(|t| html! { <TraceDetail trace={t.clone()} /> })
            .unwrap_or_default(),
        _ => html! {},
    };
    let runs = Route::Experiment { id: props.experiment_id.clone(), view: Default::default() }.href();
    html! {
        <div class="page traces-page">
            <nav class="tabs"><a href={runs}>{ "Runs" }</a><span class="tab active">{ "Traces" }</span></nav>
            { list }
            { detail }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct DetailProps {
    trace: TraceInfoV3,
}

#[component]
fn TraceDetail(props: &DetailProps) -> Html {
    let url = api::spans_url(&props.trace).unwrap_or_default();
    let spans = use_remote(url, 0, |url| async move {
        if url.is_empty() {
            return Err(api::ApiError {
                code: "RESOURCE_DOES_NOT_EXIST".into(),
                message: "This trace names no spans file.".into(),
            });
        }
        let text = api::text(&url).await?;
        span_rows(&text).map_err(|message| api::ApiError { code: "BAD_REPLY".into(), message })
    });
    let body = match &*spans {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready(rows) => html! {
            <table class="kv spans">
                <thead><tr><th>{ "Span" }</th><th>{ "Type" }</th><th>{ "Duration" }</th><th>{ "Inputs" }</th><th>{ "Outputs" }</th></tr></thead>
                <tbody>{ for rows.iter().map(span_row) }</tbody>
            </table>
        },
    };
    html! {
        <section class="card trace-detail">
            <h2>{ format!("Trace {}", props.trace.trace_id) }</h2>
            { body }
        </section>
    }
}

fn span_row(r: &SpanRow) -> Html {
    let indent = format!("padding-left: {}px", 8 + r.depth * 18);
    html! {
        <tr class={classes!("span", (!r.ok).then_some("warn"))} data-depth={r.depth.to_string()}>
            <td style={indent}><span class="span-name">{ &r.name }</span></td>
            <td>{ &r.span_type }</td>
            <td>{ format!("{:.1} ms", r.duration_ms) }</td>
            <td class="value preview">{ &r.inputs }</td>
            <td class="value preview">{ &r.outputs }</td>
        </tr>
    }
}
