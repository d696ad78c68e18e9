//! One run: overview, params, metrics with sparklines, tags, the note,
//! artifacts, datasets, logged models and the run's family.

use std::collections::HashMap;

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError, NOTE_TAG, PARENT_TAG, Range, Run, TableQuery};
use crate::artifacts::Artifacts;
use crate::columns::{SOURCE_TAG, USER_TAG, quoted};
use crate::format;
use crate::markdown;
use crate::route::{Route, TableView};
use crate::widgets::{ErrorBox, Loading, Remote, input_text, input_value};

#[derive(Properties, PartialEq)]
pub struct RunPageProps {
    pub experiment_id: String,
    pub run_id: String,
}

struct Loaded {
    run: Run,
    ranges: HashMap<String, Range>,
    children: Vec<Run>,
}

async fn load(run_id: String) -> Result<Loaded, ApiError> {
    let run = api::run(&run_id).await?;
    let id_literal = format!("'{}'", run_id.replace('\'', ""));
    let experiment_ids = vec![run.info.experiment_id.clone()];
    let ranges = api::run_table(&TableQuery {
        experiment_ids: experiment_ids.clone(),
        filter: format!("attributes.run_id = {id_literal}"),
        offset: 0,
        limit: 1,
        with_ranges: true,
        ..Default::default()
    })
    .await?
    .ranges
    .remove(&run_id)
    .unwrap_or_default();
    let children = api::run_table(&TableQuery {
        experiment_ids,
        filter: format!("tags.{} = {id_literal}", quoted(PARENT_TAG)),
        order_by: "attributes.start_time ASC".into(),
        offset: 0,
        limit: 1000,
        with_ranges: false,
    })
    .await?
    .runs;
    Ok(Loaded { run, ranges, children })
}

#[component]
pub fn RunPage(props: &RunPageProps) -> Html {
    let state = use_state(|| Remote::<std::rc::Rc<Loaded>>::Loading);
    let reload = use_state(|| 0u32);
    {
        let state = state.clone();
        let named_experiment = props.experiment_id.clone();
        use_effect_with((props.run_id.clone(), *reload), move |(run_id, _)| {
            let run_id = run_id.clone();
            spawn_local(async move {
                let loaded = load(run_id).await;
                // Links from the registry know the run but not its experiment:
                // correct the address, so the sidebar shows the right one.
                if let Ok(l) = &loaded
                    && l.run.info.experiment_id != named_experiment
                {
                    crate::dom::redirect(&Route::Run {
                        experiment_id: l.run.info.experiment_id.clone(),
                        run_id: l.run.info.run_id.clone(),
                    });
                }
                state.set(match loaded {
                    Ok(l) => Remote::Ready(std::rc::Rc::new(l)),
                    Err(e) => Remote::Failed(e),
                });
            });
        });
    }
    let on_change = {
        let reload = reload.clone();
        Callback::from(move |_| reload.set(*reload + 1))
    };
    let loaded = match &*state {
        Remote::Loading => return html! { <Loading /> },
        Remote::Failed(e) => return html! { <div class="page"><ErrorBox error={e.clone()} /></div> },
        Remote::Ready(l) => l.clone(),
    };
    let run = &loaded.run;
    let info = &run.info;
    let experiment_href = Route::Experiment { id: info.experiment_id.clone(), view: TableView::default() }.href();
    let duration = info.end_time.filter(|e| *e >= info.start_time).map(|e| format::duration(e - info.start_time));
    let user =
        if info.user_id.is_empty() { run.tag(USER_TAG).unwrap_or_default().to_string() } else { info.user_id.clone() };
    let commit = run.tag("mlflow.source.git.commit").unwrap_or_default().to_string();
    let parent = run.tag(PARENT_TAG).map(str::to_string);

    let mut metrics = run.data.metrics.clone();
    metrics.sort_by(|a, b| a.key.cmp(&b.key));
    let mut params = run.data.params.clone();
    params.sort_by(|a, b| a.key.cmp(&b.key));

    html! {
        <div class="page run-page" data-run={info.run_id.clone()}>
            <nav class="crumbs"><a href={experiment_href}>{ "← Runs" }</a></nav>
            <h1 class="run-name">{ run.name() }</h1>
            <section class="card overview">
                <h2>{ "Overview" }</h2>
                <dl class="facts">
                    <dt>{ "Run ID" }</dt><dd><code>{ &info.run_id }</code></dd>
                    <dt>{ "Status" }</dt><dd class={classes!("status", info.status.to_lowercase())}>{ &info.status }</dd>
                    <dt>{ "Started" }</dt><dd>{ format::time(info.start_time) }</dd>
                    <dt>{ "Ended" }</dt><dd>{ info.end_time.map(format::time).unwrap_or_else(|| "—".into()) }</dd>
                    <dt>{ "Duration" }</dt><dd>{ duration.unwrap_or_else(|| "—".into()) }</dd>
                    <dt>{ "User" }</dt><dd>{ if user.is_empty() { "—".to_string() } else { user } }</dd>
                    <dt>{ "Source" }</dt><dd>{ run.tag(SOURCE_TAG).unwrap_or("—") }</dd>
                    <dt>{ "Git commit" }</dt><dd><code>{ if commit.is_empty() { "—".to_string() } else { commit } }</code></dd>
                    <dt>{ "Lifecycle" }</dt><dd>{ &info.lifecycle_stage }</dd>
                    if let Some(p) = parent {
                        <dt>{ "Parent run" }</dt>
                        <dd><a href={Route::Run { experiment_id: info.experiment_id.clone(), run_id: p.clone() }.href()}>{ p }</a></dd>
                    }
                </dl>
            </section>

            <Note run_id={info.run_id.clone()} note={run.tag(NOTE_TAG).unwrap_or_default().to_string()} on_change={on_change.clone()} />

            <section class="card">
                <h2>{ format!("Metrics ({})", metrics.len()) }</h2>
                if metrics.is_empty() {
                    <div class="muted">{ "No metrics logged." }</div>
                } else {
                    <table class="kv metrics">
                        <thead><tr><th>{ "Metric" }</th><th class="num">{ "Latest" }</th><th class="num">{ "Min" }</th><th class="num">{ "Max" }</th><th class="num">{ "Step" }</th><th>{ "History" }</th></tr></thead>
                        <tbody>
                        { for metrics.iter().map(|m| {
                            let range = loaded.ranges.get(&m.key);
                            html! {
                                <tr key={m.key.clone()}>
                                    <td>{ &m.key }</td>
                                    <td class="num">{ format::number(m.value) }</td>
                                    <td class="num">{ format::opt_number(range.and_then(|r| r.min)) }</td>
                                    <td class="num">{ format::opt_number(range.and_then(|r| r.max)) }</td>
                                    <td class="num">{ m.step }</td>
                                    <td><Sparkline run_id={info.run_id.clone()} metric={m.key.clone()} /></td>
                                </tr>
                            }
                        }) }
                        </tbody>
                    </table>
                }
            </section>

            <section class="card">
                <h2>{ format!("Params ({})", params.len()) }</h2>
                if params.is_empty() {
                    <div class="muted">{ "No params logged." }</div>
                } else {
                    <table class="kv params">
                        <tbody>
                        { for params.iter().map(|p| html! { <tr key={p.key.clone()}><td>{ &p.key }</td><td class="value">{ &p.value }</td></tr> }) }
                        </tbody>
                    </table>
                }
            </section>

            <Tags run={run.clone()} on_change={on_change.clone()} />

            <Annotations run_id={info.run_id.clone()} metrics={metrics.iter().map(|m| (m.key.clone(), m.step)).collect::<Vec<_>>()} />

            <section class="card">
                <h2>{ "Artifacts" }</h2>
                <Artifacts run={info.clone()} />
            </section>

            <section class="card">
                <h2>{ format!("Datasets ({})", run.inputs.dataset_inputs.len()) }</h2>
                if run.inputs.dataset_inputs.is_empty() {
                    <div class="muted">{ "No datasets logged." }</div>
                } else {
                    <table class="kv datasets">
                        <thead><tr><th>{ "Name" }</th><th>{ "Digest" }</th><th>{ "Context" }</th><th>{ "Source" }</th><th>{ "Schema" }</th></tr></thead>
                        <tbody>
                        { for run.inputs.dataset_inputs.iter().map(|d| {
                            let context = d.tags.iter().find(|t| t.key == "mlflow.data.context").map(|t| t.value.clone()).unwrap_or_default();
                            html! {
                                <tr>
                                    <td>{ &d.dataset.name }</td><td><code>{ &d.dataset.digest }</code></td><td>{ context }</td>
                                    <td class="value">{ format!("{} {}", d.dataset.source_type, d.dataset.source) }</td>
                                    <td class="value"><small>{ d.dataset.schema.clone().unwrap_or_default() }</small></td>
                                </tr>
                            }
                        }) }
                        </tbody>
                    </table>
                }
            </section>

            <section class="card">
                <h2>{ format!("Logged models ({})", run.outputs.model_outputs.len()) }</h2>
                if run.outputs.model_outputs.is_empty() {
                    <div class="muted">{ "No models logged by this run." }</div>
                } else {
                    <ul>{ for run.outputs.model_outputs.iter().map(|m| html! { <li><code>{ &m.model_id }</code>{ format!(" (step {})", m.step) }</li> }) }</ul>
                }
            </section>

            <section class="card">
                <h2>{ format!("Child runs ({})", loaded.children.len()) }</h2>
                if loaded.children.is_empty() {
                    <div class="muted">{ "No child runs." }</div>
                } else {
                    <ul class="children">
                    { for loaded.children.iter().map(|c| html! {
                        <li><a href={Route::Run { experiment_id: c.info.experiment_id.clone(), run_id: c.info.run_id.clone() }.href()}>{ c.name() }</a>
                            <span class={classes!("status", c.info.status.to_lowercase())}>{ format!(" {}", c.info.status) }</span></li>
                    }) }
                    </ul>
                }
            </section>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SparklineProps {
    run_id: String,
    metric: String,
}

/// A metric's history as a small line, fetched thinned to ~100 points.
#[component]
fn Sparkline(props: &SparklineProps) -> Html {
    let points = use_state(|| None::<Vec<(f64, f64)>>);
    {
        let points = points.clone();
        use_effect_with((props.run_id.clone(), props.metric.clone()), move |(run, key)| {
            let (run, key) = (run.clone(), key.clone());
            spawn_local(async move {
                let history = api::history(&run, &key, 100).await.unwrap_or_default();
                points.set(Some(
                    history.iter().filter(|p| p.value.is_finite()).map(|p| (p.step as f64, p.value)).collect(),
                ));
            });
        });
    }
    let Some(points) = &*points else { return html! { <svg class="spark" width="120" height="24"></svg> } };
    if points.len() < 2 {
        return html! { <svg class="spark" width="120" height="24"></svg> };
    }
    let (x0, x1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = points.iter().fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let sx = |x: f64| if x1 > x0 { (x - x0) / (x1 - x0) * 118.0 + 1.0 } else { 60.0 };
    let sy = |y: f64| if y1 > y0 { 23.0 - (y - y0) / (y1 - y0) * 22.0 } else { 12.0 };
    let path: Vec<String> = points.iter().map(|p| format!("{:.1},{:.1}", sx(p.0), sy(p.1))).collect();
    html! {
        <svg class="spark" width="120" height="24" viewBox="0 0 120 24" role="img" aria-label={format!("{} history", props.metric)}>
            <polyline points={path.join(" ")} fill="none" stroke="currentColor" stroke-width="1.3" />
        </svg>
    }
}

#[derive(Properties, PartialEq)]
struct NoteProps {
    run_id: String,
    note: String,
    on_change: Callback<()>,
}

/// The run's note: markdown, kept in `mlflow.note.content` like MLflow's UI.
#[component]
fn Note(props: &NoteProps) -> Html {
    let editing = use_state(|| false);
    let draft = use_state(|| props.note.clone());
    let error = use_state(|| None::<ApiError>);
    let saving = use_state(|| false);
    let save = {
        let (editing, draft, error, saving) = (editing.clone(), draft.clone(), error.clone(), saving.clone());
        let run_id = props.run_id.clone();
        let on_change = props.on_change.clone();
        Callback::from(move |_| {
            let (editing, error, saving, on_change) =
                (editing.clone(), error.clone(), saving.clone(), on_change.clone());
            let (run_id, text) = (run_id.clone(), (*draft).clone());
            saving.set(true);
            spawn_local(async move {
                let result = api::set_tag(&run_id, NOTE_TAG, &text).await;
                saving.set(false);
                match result {
                    Ok(()) => {
                        error.set(None);
                        editing.set(false);
                        on_change.emit(());
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let preview = markdown::to_html(if *editing { &draft } else { &props.note });
    html! {
        <section class="card note">
            <h2>{ "Note" }
                if !*editing {
                    <button class="small edit-note" onclick={ let (e, d, n) = (editing.clone(), draft.clone(), props.note.clone()); move |_| { d.set(n.clone()); e.set(true) } }>{ if props.note.is_empty() { "Add a note" } else { "Edit" } }</button>
                }
            </h2>
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            if *editing {
                <div class="note-editor">
                    <textarea class="note-text" aria-label="Note (markdown)" value={(*draft).clone()}
                        oninput={ let d = draft.clone(); move |e: InputEvent| d.set(input_text(&e)) }
                        onkeydown={ let save = save.clone(); move |e: KeyboardEvent| if e.key() == "Enter" && (e.ctrl_key() || e.meta_key()) { save.emit(()) } } />
                    <div class="markdown preview" aria-label="Preview">{ Html::from_html_unchecked(AttrValue::from(preview)) }</div>
                </div>
                <div class="buttons">
                    <button class="primary save-note" onclick={ let s = save.clone(); move |_| s.emit(()) } disabled={*saving}>{ if *saving { "Saving…" } else { "Save (Ctrl+Enter)" } }</button>
                    <button onclick={ let e = editing.clone(); move |_| e.set(false) }>{ "Cancel" }</button>
                </div>
            } else if props.note.trim().is_empty() {
                <div class="muted">{ "No note yet. Notes are markdown, and MLflow's tools see them too." }</div>
            } else {
                <div class="markdown note-view">{ Html::from_html_unchecked(AttrValue::from(preview)) }</div>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct TagsProps {
    run: Run,
    on_change: Callback<()>,
}

/// The run's own tags, editable; MLflow's system tags are listed apart.
#[component]
fn Tags(props: &TagsProps) -> Html {
    let new_key = use_state(String::new);
    let new_value = use_state(String::new);
    let editing = use_state(|| None::<(String, String)>);
    let error = use_state(|| None::<ApiError>);
    let run_id = props.run.info.run_id.clone();
    let act = crate::widgets::edit_runner(error.clone(), props.on_change.clone());
    let add = {
        let (new_key, new_value, run_id, act) = (new_key.clone(), new_value.clone(), run_id.clone(), act.clone());
        Callback::from(move |_| {
            let (k, v, id) = ((*new_key).trim().to_string(), (*new_value).clone(), run_id.clone());
            if k.is_empty() {
                return;
            }
            new_key.set(String::new());
            new_value.set(String::new());
            act(Box::pin(async move { api::set_tag(&id, &k, &v).await }));
        })
    };
    let (mut user, mut system): (Vec<_>, Vec<_>) =
        props.run.data.tags.iter().filter(|t| t.key != NOTE_TAG).partition(|t| !t.key.starts_with("mlflow."));
    user.sort_by(|a, b| a.key.cmp(&b.key));
    system.sort_by(|a, b| a.key.cmp(&b.key));
    html! {
        <section class="card tags">
            <h2>{ format!("Tags ({})", user.len()) }</h2>
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            <table class="kv tags-table">
                <tbody>
                { for user.iter().map(|t| {
                    let key = t.key.clone();
                    let is_editing = editing.as_ref().is_some_and(|(k, _)| k == &key);
                    let remove = {
                        let (act, id, key) = (act.clone(), run_id.clone(), key.clone());
                        Callback::from(move |_| { let (id, key) = (id.clone(), key.clone()); act(Box::pin(async move { api::delete_tag(&id, &key).await })) })
                    };
                    let save_edit = {
                        let (act, id, key, editing) = (act.clone(), run_id.clone(), key.clone(), editing.clone());
                        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
                            "Enter" => {
                                let (id, key, value) = (id.clone(), key.clone(), input_value(&e));
                                editing.set(None);
                                act(Box::pin(async move { api::set_tag(&id, &key, &value).await }))
                            }
                            "Escape" => editing.set(None),
                            _ => {}
                        })
                    };
                    html! {
                        <tr key={key.clone()} data-tag={key.clone()}>
                            <td>{ &t.key }</td>
                            <td class="value">
                                if is_editing {
                                    <input class="tag-edit" value={t.value.clone()} onkeydown={save_edit} aria-label={format!("Value of {}", t.key)} autofocus=true />
                                } else {
                                    { &t.value }
                                }
                            </td>
                            <td class="actions">
                                <button class="icon" title="Edit" onclick={ let (e, k, v) = (editing.clone(), key.clone(), t.value.clone()); move |_| e.set(Some((k.clone(), v.clone()))) }>{ "✎" }</button>
                                <button class="icon remove-tag" title="Remove" onclick={remove}>{ "✕" }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            <div class="add-tag">
                <input class="new-tag-key" placeholder="key" value={(*new_key).clone()} aria-label="New tag key"
                    oninput={ let k = new_key.clone(); move |e: InputEvent| k.set(input_text(&e)) } />
                <input class="new-tag-value" placeholder="value" value={(*new_value).clone()} aria-label="New tag value"
                    oninput={ let v = new_value.clone(); move |e: InputEvent| v.set(input_text(&e)) }
                    onkeydown={ let add = add.clone(); move |e: KeyboardEvent| if e.key() == "Enter" { add.emit(()) } } />
                <button class="add-tag-button" onclick={ let a = add.clone(); move |_| a.emit(()) }>{ "Add tag" }</button>
            </div>
            if !system.is_empty() {
                <details>
                    <summary>{ format!("System tags ({})", system.len()) }</summary>
                    <table class="kv"><tbody>
                    { for system.iter().map(|t| html! { <tr><td>{ &t.key }</td><td class="value">{ &t.value }</td></tr> }) }
                    </tbody></table>
                </details>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct AnnotationsProps {
    run_id: String,
    /// The run's metrics, each with its latest step (the form's defaults).
    metrics: Vec<(String, i64)>,
}

const AUTHOR_KEY: &str = "almanac.author";

/// Notes anchored to a metric at a step ("LR dropped here"), kept in the
/// store and synced with the run; the charts show them as markers.
#[component]
fn Annotations(props: &AnnotationsProps) -> Html {
    let list = use_state(|| Remote::<Vec<api::Annotation>>::Loading);
    let reload = use_state(|| 0u32);
    let metric = use_state(|| props.metrics.first().map(|m| m.0.clone()).unwrap_or_default());
    let step = use_state(|| props.metrics.first().map(|m| m.1).unwrap_or(0).to_string());
    let text = use_state(String::new);
    let author = use_state(|| crate::dom::load::<String>(AUTHOR_KEY).unwrap_or_default());
    let error = use_state(|| None::<ApiError>);
    {
        let list = list.clone();
        use_effect_with((props.run_id.clone(), *reload), move |(run_id, _)| {
            let ids = vec![run_id.clone()];
            spawn_local(async move {
                list.set(match api::annotations(&ids).await {
                    Ok(l) => Remote::Ready(l),
                    Err(e) => Remote::Failed(e),
                });
            });
        });
    }
    let act = crate::widgets::edit_runner(error.clone(), {
        let reload = reload.clone();
        Callback::from(move |_| reload.set(*reload + 1))
    });
    let add = {
        let (act, run_id) = (act.clone(), props.run_id.clone());
        let (metric, step, text, author, error) =
            (metric.clone(), step.clone(), text.clone(), author.clone(), error.clone());
        Callback::from(move |_| {
            let Ok(at) = step.trim().parse::<i64>() else {
                error.set(Some(ApiError {
                    code: "INVALID_PARAMETER_VALUE".into(),
                    message: format!("Step must be a whole number, not '{}'", *step),
                }));
                return;
            };
            crate::dom::save(AUTHOR_KEY, &*author);
            let (run_id, key, note, who) = (run_id.clone(), (*metric).clone(), (*text).clone(), (*author).clone());
            text.set(String::new());
            act(Box::pin(async move { api::annotate(&run_id, &key, at, &note, &who).await }));
        })
    };
    let body = match &*list {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready(l) if l.is_empty() => {
            html! { <div class="muted">{ "No annotations yet. Mark a moment in a metric's history below." }</div> }
        }
        Remote::Ready(l) => html! {
            <table class="kv annotations">
                <thead><tr><th>{ "Metric" }</th><th class="num">{ "Step" }</th><th>{ "Note" }</th><th>{ "By" }</th><th>{ "When" }</th><th></th></tr></thead>
                <tbody>
                { for l.iter().map(|a| {
                    let (act, run_id, id) = (act.clone(), a.run_id.clone(), a.annotation_id.clone());
                    html! {
                        <tr key={a.annotation_id.clone()}>
                            <td>{ &a.metric_key }</td><td class="num">{ a.step }</td><td class="annotation-text">{ &a.text }</td>
                            <td>{ &a.author }</td><td>{ format::time(a.created_ms) }</td>
                            <td class="actions"><button class="icon" title="Delete annotation" onclick={move |_| {
                                let (run_id, id) = (run_id.clone(), id.clone());
                                act(Box::pin(async move { api::delete_annotation(&run_id, &id).await }))
                            }}>{ "✕" }</button></td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        },
    };
    html! {
        <section class="card annotations-card">
            <h2>{ "Annotations" }</h2>
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            { body }
            if !props.metrics.is_empty() {
                <div class="add-annotation inline-form">
                    <select aria-label="Metric" onchange={ let m = metric.clone(); move |e: Event| m.set(input_value(&e)) }>
                        { for props.metrics.iter().map(|(k, _)| html! { <option value={k.clone()} selected={*k == *metric}>{ k }</option> }) }
                    </select>
                    <input class="annotation-step" type="number" aria-label="Step" value={(*step).clone()} style="width: 90px"
                        oninput={ let s = step.clone(); move |e: InputEvent| s.set(input_text(&e)) } />
                    <input class="annotation-note" placeholder="LR dropped here" aria-label="Annotation" value={(*text).clone()}
                        oninput={ let t = text.clone(); move |e: InputEvent| t.set(input_text(&e)) }
                        onkeydown={ let add = add.clone(); move |e: KeyboardEvent| if e.key() == "Enter" { add.emit(()) } } />
                    <input class="annotation-author" placeholder="your name" aria-label="Author" value={(*author).clone()} style="width: 120px"
                        oninput={ let a = author.clone(); move |e: InputEvent| a.set(input_text(&e)) } />
                    <button class="add-annotation-button" onclick={ let a = add.clone(); move |_| a.emit(()) }
                        disabled={text.trim().is_empty() || author.trim().is_empty()}>{ "Annotate" }</button>
                </div>
            }
        </section>
    }
}
