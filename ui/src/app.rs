//! The shell: top bar, experiments sidebar, and the view the hash names.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use yew::prelude::*;

use crate::compare::{Compare, ViewPage};
use crate::desktop::DesktopShell;
use crate::dom;
use crate::registry::{ModelPage, ModelsPage, PromptPage, PromptsPage, VersionPage};
use crate::route::{Route, TableView};
use crate::run_page::RunPage;
use crate::sidebar::Sidebar;
use crate::table::RunsTable;
use crate::traces::TracesPage;
use crate::widgets::Empty;

/// Runs and Traces, the two views of an experiment, as MLflow has them.
fn runs_tabs(experiment_id: &str) -> Html {
    let traces = Route::Traces { experiment_id: experiment_id.to_string() }.href();
    html! {
        <nav class="tabs experiment-tabs">
            <span class="tab active">{ "Runs" }</span>
            <a href={traces} class="traces-tab">{ "Traces" }</a>
        </nav>
    }
}

#[component]
pub fn App() -> Html {
    let route = use_state(|| Route::parse(&dom::hash()));
    {
        let route = route.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn Fn()>::new(move || route.set(Route::parse(&dom::hash())));
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback("hashchange", listener.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = window {
                    let _ = w.remove_event_listener_with_callback("hashchange", listener.as_ref().unchecked_ref());
                }
            }
        });
    }
    // Bumped when runs change from elsewhere (bulk edits), so counts refresh.
    let revision = use_state(|| 0u32);
    let on_runs_changed = {
        let revision = revision.clone();
        Callback::from(move |_| revision.set(*revision + 1))
    };

    let selected_experiment = match &*route {
        Route::Home => Some("0".to_string()),
        Route::Experiment { id, .. } => Some(id.clone()),
        Route::Run { experiment_id, .. } | Route::Traces { experiment_id } => Some(experiment_id.clone()),
        _ => None,
    };
    let section = match &*route {
        Route::Models | Route::Model { .. } | Route::ModelVersion { .. } => "models",
        Route::Prompts | Route::Prompt { .. } => "prompts",
        _ => "experiments",
    };
    let main = match (*route).clone() {
        Route::Home => html! {
            <>
                { runs_tabs("0") }
                <RunsTable experiment_id="0" view={TableView::default()} on_change={on_runs_changed} />
            </>
        },
        Route::Experiment { id, view } => html! {
            <>
                { runs_tabs(&id) }
                <RunsTable experiment_id={id} {view} on_change={on_runs_changed} />
            </>
        },
        Route::Run { experiment_id, run_id } => html! { <RunPage {experiment_id} {run_id} /> },
        Route::Traces { experiment_id } => html! { <TracesPage {experiment_id} /> },
        Route::Compare { runs } => html! { <Compare {runs} /> },
        Route::View { id } => html! { <ViewPage {id} /> },
        Route::Models => html! { <ModelsPage /> },
        Route::Model { name } => html! { <ModelPage {name} /> },
        Route::ModelVersion { name, version } => html! { <VersionPage {name} {version} /> },
        Route::Prompts => html! { <PromptsPage /> },
        Route::Prompt { name } => html! { <PromptPage {name} /> },
        Route::NotFound(raw) => html! {
            <Empty title="Nothing lives at this address">
                <code>{ raw }</code>{ " — " }<a href="#/">{ "go to the experiments" }</a>
            </Empty>
        },
    };
    let nav = |name: &str, href: &str, label: &str| {
        let class = if section == name { "nav active" } else { "nav" };
        html! { <a {class} href={href.to_string()}>{ label.to_string() }</a> }
    };
    html! {
        <div class="shell">
            <header class="topbar">
                <a class="brand" href="#/">{ "Almanac" }</a>
                { nav("experiments", "#/", "Experiments") }
                { nav("models", "#/models", "Models") }
                { nav("prompts", "#/prompts", "Prompts") }
            </header>
            <div class="body">
                if let Some(selected) = selected_experiment {
                    <Sidebar {selected} revision={*revision} />
                }
                <main class="main">{ main }</main>
            </div>
            <DesktopShell />
        </div>
    }
}
