//! The model registry: models, versions, aliases, tags and descriptions with
//! lineage to the source run; and prompts, whose versions compare side by side.

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError, ModelVersion, RegisteredModel};
use crate::format;
use crate::route::Route;
use crate::widgets::{Empty, ErrorBox, Loading, Remote, input_text, input_value, use_remote};

const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
const PROMPT_TEXT_TAG: &str = "mlflow.prompt.text";

#[derive(Properties, PartialEq)]
struct ModelListProps {
    prompts: bool,
}

#[component]
fn ModelList(props: &ModelListProps) -> Html {
    let search = use_state(String::new);
    let prompts = props.prompts;
    let models = use_remote(String::new(), 0, move |_| async move {
        let filter = if prompts { format!("tags.`{PROMPT_TAG}` = 'true'") } else { String::new() };
        api::registered_models(&filter).await
    });
    let title = if prompts { "Prompts" } else { "Registered models" };
    let body = match &*models {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready(list) if list.is_empty() => html! {
            <Empty title={ if prompts { "No prompts yet" } else { "No registered models yet" } }>
                { if prompts { "Register one with mlflow.genai.register_prompt(...)." } else { "Register one with mlflow.register_model(...) or log_model(..., registered_model_name=...)." } }
            </Empty>
        },
        Remote::Ready(list) => {
            let needle = search.to_lowercase();
            html! {
                <table class="kv models">
                    <thead><tr><th>{ "Name" }</th><th>{ "Latest version" }</th><th>{ "Aliases" }</th><th>{ "Updated" }</th><th>{ "Description" }</th></tr></thead>
                    <tbody>
                    { for list.iter().filter(|m| needle.is_empty() || m.name.to_lowercase().contains(&needle)).map(|m| {
                        let href = if prompts { Route::Prompt { name: m.name.clone() } } else { Route::Model { name: m.name.clone() } }.href();
                        let latest = m.latest_versions.iter().map(|v| v.version.parse::<i64>().unwrap_or(0)).max();
                        html! {
                            <tr key={m.name.clone()}>
                                <td><a {href}>{ &m.name }</a></td>
                                <td>{ latest.map(|v| format!("v{v}")).unwrap_or_default() }</td>
                                <td>{ for m.aliases.iter().map(|a| html! { <span class="chip">{ format!("@{} → v{}", a.alias, a.version) }</span> }) }</td>
                                <td>{ format::time(m.last_updated_timestamp) }</td>
                                <td class="value">{ &m.description }</td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            }
        }
    };
    html! {
        <div class="page">
            <h1>{ title }</h1>
            <input type="search" class="search" placeholder="Search by name" value={(*search).clone()}
                oninput={ let s = search.clone(); move |e: InputEvent| s.set(input_text(&e)) } />
            { body }
        </div>
    }
}

#[component]
pub fn ModelsPage() -> Html {
    html! { <ModelList prompts={false} /> }
}

#[component]
pub fn PromptsPage() -> Html {
    html! { <ModelList prompts={true} /> }
}

#[derive(Properties, PartialEq)]
struct DescriptionProps {
    text: String,
    on_save: Callback<String>,
}

/// A description, edited in place.
#[component]
fn Description(props: &DescriptionProps) -> Html {
    let editing = use_state(|| None::<String>);
    match &*editing {
        None => html! {
            <div class="description">
                if props.text.is_empty() { <span class="muted">{ "No description." }</span> } else { <p>{ &props.text }</p> }
                <button class="small" onclick={ let (e, t) = (editing.clone(), props.text.clone()); move |_| e.set(Some(t.clone())) }>{ "Edit description" }</button>
            </div>
        },
        Some(draft) => html! {
            <div class="description">
                <textarea value={draft.clone()} aria-label="Description" oninput={ let e = editing.clone(); move |ev: InputEvent| e.set(Some(input_text(&ev))) } />
                <button class="primary" onclick={ let (e, d, s) = (editing.clone(), draft.clone(), props.on_save.clone()); move |_| { s.emit(d.clone()); e.set(None) } }>{ "Save" }</button>
                <button onclick={ let e = editing.clone(); move |_| e.set(None) }>{ "Cancel" }</button>
            </div>
        },
    }
}

fn run_link(v: &ModelVersion) -> Html {
    if v.run_id.is_empty() {
        return html! { <span class="muted">{ "—" }</span> };
    }
    // The version does not name the run's experiment; the run page corrects
    // the address once it has loaded the run.
    html! { <a href={Route::Run { experiment_id: "0".into(), run_id: v.run_id.clone() }.href()}>{ &v.run_id }</a> }
}

#[derive(Properties, PartialEq)]
pub struct ModelProps {
    pub name: String,
}

#[component]
pub fn ModelPage(props: &ModelProps) -> Html {
    let reload = use_state(|| 0u32);
    let error = use_state(|| None::<ApiError>);
    let data = use_remote(props.name.clone(), *reload, |name| async move {
        Ok((api::registered_model(&name).await?, api::model_versions(&name, false).await?))
    });
    let act = crate::widgets::edit_runner(error.clone(), {
        let reload = reload.clone();
        Callback::from(move |_| reload.set(*reload + 1))
    });
    let alias_name = use_state(String::new);
    let alias_version = use_state(String::new);
    let (model, versions): (RegisteredModel, Vec<ModelVersion>) = match &*data {
        Remote::Loading => return html! { <Loading /> },
        Remote::Failed(e) => return html! { <div class="page"><ErrorBox error={e.clone()} /></div> },
        Remote::Ready(d) => d.clone(),
    };
    let name = props.name.clone();
    let on_description = {
        let (act, name) = (act.clone(), name.clone());
        Callback::from(move |text: String| {
            let name = name.clone();
            act(Box::pin(async move { api::update_model_description(&name, &text).await }))
        })
    };
    let set_alias = {
        let (act, name, a, v) = (act.clone(), name.clone(), alias_name.clone(), alias_version.clone());
        Callback::from(move |_| {
            let (name, alias, version) = (name.clone(), (*a).trim().to_string(), (*v).trim().to_string());
            if !alias.is_empty() && !version.is_empty() {
                act(Box::pin(async move { api::set_alias(&name, &alias, &version).await }));
            }
        })
    };
    html! {
        <div class="page model">
            <nav class="crumbs"><a href="#/models">{ "← Models" }</a></nav>
            <h1>{ &model.name }</h1>
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            <section class="card">
                <Description text={model.description.clone()} on_save={on_description} />
                <h2>{ "Aliases" }</h2>
                <div class="aliases">
                    if model.aliases.is_empty() { <span class="muted">{ "No aliases." }</span> }
                    { for model.aliases.iter().map(|a| {
                        let (act, name, alias) = (act.clone(), name.clone(), a.alias.clone());
                        html! {
                            <span class="chip">{ format!("@{} → v{}", a.alias, a.version) }
                                <button class="icon" title="Remove alias" onclick={move |_| { let (n, al) = (name.clone(), alias.clone()); act(Box::pin(async move { api::delete_alias(&n, &al).await })) }}>{ "✕" }</button>
                            </span>
                        }
                    }) }
                </div>
                <div class="inline-form">
                    <input placeholder="alias (e.g. champion)" value={(*alias_name).clone()} aria-label="Alias" oninput={ let a = alias_name.clone(); move |e: InputEvent| a.set(input_text(&e)) } />
                    <select aria-label="Version" onchange={ let v = alias_version.clone(); move |e: Event| v.set(input_value(&e)) }>
                        <option value="">{ "version…" }</option>
                        { for versions.iter().map(|v| html! { <option value={v.version.clone()}>{ format!("v{}", v.version) }</option> }) }
                    </select>
                    <button onclick={set_alias}>{ "Set alias" }</button>
                </div>
                if !model.tags.is_empty() {
                    <h2>{ "Tags" }</h2>
                    <table class="kv"><tbody>{ for model.tags.iter().map(|t| html! { <tr><td>{ &t.key }</td><td class="value">{ &t.value }</td></tr> }) }</tbody></table>
                }
            </section>
            <section class="card">
                <h2>{ format!("Versions ({})", versions.len()) }</h2>
                <table class="kv versions">
                    <thead><tr><th>{ "Version" }</th><th>{ "Aliases" }</th><th>{ "Stage" }</th><th>{ "Created" }</th><th>{ "Source run" }</th><th>{ "Description" }</th></tr></thead>
                    <tbody>
                    { for versions.iter().map(|v| html! {
                        <tr key={v.version.clone()}>
                            <td><a href={Route::ModelVersion { name: v.name.clone(), version: v.version.clone() }.href()}>{ format!("v{}", v.version) }</a></td>
                            <td>{ for v.aliases.iter().map(|a| html! { <span class="chip">{ format!("@{a}") }</span> }) }</td>
                            <td>{ &v.current_stage }</td>
                            <td>{ format::time(v.creation_timestamp) }</td>
                            <td>{ run_link(v) }</td>
                            <td class="value">{ &v.description }</td>
                        </tr>
                    }) }
                    </tbody>
                </table>
            </section>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct VersionProps {
    pub name: String,
    pub version: String,
}

#[component]
pub fn VersionPage(props: &VersionProps) -> Html {
    let reload = use_state(|| 0u32);
    let error = use_state(|| None::<ApiError>);
    let key = format!("{}\u{0}{}", props.name, props.version);
    let data = use_remote(key, *reload, |key| async move {
        let (name, version) = key.split_once('\u{0}').unwrap_or((&key, ""));
        api::model_version(name, version).await
    });
    let v = match &*data {
        Remote::Loading => return html! { <Loading /> },
        Remote::Failed(e) => return html! { <div class="page"><ErrorBox error={e.clone()} /></div> },
        Remote::Ready(v) => v.clone(),
    };
    let on_description = {
        let (reload, error, name, version) = (reload.clone(), error.clone(), props.name.clone(), props.version.clone());
        Callback::from(move |text: String| {
            let (reload, error, name, version) = (reload.clone(), error.clone(), name.clone(), version.clone());
            spawn_local(async move {
                if let Err(e) = api::update_version_description(&name, &version, &text).await {
                    error.set(Some(e));
                }
                reload.set(*reload + 1);
            });
        })
    };
    html! {
        <div class="page model-version">
            <nav class="crumbs"><a href={Route::Model { name: v.name.clone() }.href()}>{ format!("← {}", v.name) }</a></nav>
            <h1>{ format!("{} v{}", v.name, v.version) }</h1>
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            <section class="card">
                <dl class="facts">
                    <dt>{ "Aliases" }</dt><dd>{ for v.aliases.iter().map(|a| html! { <span class="chip">{ format!("@{a}") }</span> }) }</dd>
                    <dt>{ "Stage" }</dt><dd>{ &v.current_stage }</dd>
                    <dt>{ "Created" }</dt><dd>{ format::time(v.creation_timestamp) }</dd>
                    <dt>{ "Updated" }</dt><dd>{ format::time(v.last_updated_timestamp) }</dd>
                    <dt>{ "Source" }</dt><dd><code>{ &v.source }</code></dd>
                    <dt>{ "Source run" }</dt><dd>{ run_link(&v) }</dd>
                    <dt>{ "Load with" }</dt><dd><code>{ format!("mlflow.pyfunc.load_model(\"models:/{}/{}\")", v.name, v.version) }</code></dd>
                </dl>
                <Description text={v.description.clone()} on_save={on_description} />
                if !v.tags.is_empty() {
                    <h2>{ "Tags" }</h2>
                    <table class="kv"><tbody>{ for v.tags.iter().map(|t| html! { <tr><td>{ &t.key }</td><td class="value">{ &t.value }</td></tr> }) }</tbody></table>
                }
            </section>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct PromptProps {
    pub name: String,
}

/// A prompt's versions, two of them side by side, line by line.
#[component]
pub fn PromptPage(props: &PromptProps) -> Html {
    let data = use_remote(props.name.clone(), 0, |name| async move { api::model_versions(&name, true).await });
    let left = use_state(|| None::<String>);
    let right = use_state(|| None::<String>);
    let versions = match &*data {
        Remote::Loading => return html! { <Loading /> },
        Remote::Failed(e) => return html! { <div class="page"><ErrorBox error={e.clone()} /></div> },
        Remote::Ready(v) => v.clone(),
    };
    if versions.is_empty() {
        return html! { <Empty title="This prompt has no versions" /> };
    }
    let pick = |chosen: &Option<String>, fallback: usize| -> Option<ModelVersion> {
        let found: Option<&ModelVersion> = chosen.as_ref().and_then(|c| versions.iter().find(|v| &v.version == c));
        let chosen: Option<&ModelVersion> = found.or_else(|| versions.get(fallback.min(versions.len() - 1)));
        chosen.cloned()
    };
    // Newest on the right, the one before it on the left.
    let (a, b) = (pick(&left, 1), pick(&right, 0));
    let select = |state: UseStateHandle<Option<String>>, current: &Option<ModelVersion>, label: &str| {
        html! {
            <select aria-label={label.to_string()} onchange={move |e: Event| state.set(Some(input_value(&e)))}>
                { for versions.iter().map(|v| html! {
                    <option value={v.version.clone()} selected={current.as_ref().is_some_and(|c| c.version == v.version)}>
                        { format!("v{}{}", v.version, if v.aliases.is_empty() { String::new() } else { format!(" (@{})", v.aliases.join(", @")) }) }
                    </option>
                }) }
            </select>
        }
    };
    let text =
        |v: &Option<ModelVersion>| v.as_ref().and_then(|v| v.tag(PROMPT_TEXT_TAG)).unwrap_or_default().to_string();
    let (ta, tb) = (text(&a), text(&b));
    let la: Vec<&str> = ta.lines().collect();
    let lb: Vec<&str> = tb.lines().collect();
    let n = la.len().max(lb.len());
    html! {
        <div class="page prompt">
            <nav class="crumbs"><a href="#/prompts">{ "← Prompts" }</a></nav>
            <h1>{ &props.name }</h1>
            <div class="prompt-compare">
                <div>{ select(left.clone(), &a, "Left version") }</div>
                <div>{ select(right.clone(), &b, "Right version") }</div>
            </div>
            <table class="prompt-diff">
                <tbody>
                { for (0..n).map(|i| {
                    let (x, y) = (la.get(i).copied(), lb.get(i).copied());
                    let differs = x != y;
                    html! {
                        <tr class={classes!(differs.then_some("differs"))}>
                            <td class="line">{ i + 1 }</td>
                            <td class={classes!("prompt-text", differs.then_some("removed"))}>{ x.unwrap_or("") }</td>
                            <td class={classes!("prompt-text", differs.then_some("added"))}>{ y.unwrap_or("") }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            <section class="card">
                <h2>{ format!("Versions ({})", versions.len()) }</h2>
                <table class="kv">
                    <thead><tr><th>{ "Version" }</th><th>{ "Aliases" }</th><th>{ "Created" }</th><th>{ "Commit message" }</th></tr></thead>
                    <tbody>
                    { for versions.iter().map(|v| html! {
                        <tr><td>{ format!("v{}", v.version) }</td>
                            <td>{ for v.aliases.iter().map(|a| html! { <span class="chip">{ format!("@{a}") }</span> }) }</td>
                            <td>{ format::time(v.creation_timestamp) }</td><td class="value">{ &v.description }</td></tr>
                    }) }
                    </tbody>
                </table>
            </section>
        </div>
    }
}
