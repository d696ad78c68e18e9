//! The experiments sidebar: list with run counts, search, create, rename,
//! delete and restore.

use std::collections::HashMap;

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError, Experiment};
use crate::dom;
use crate::route::{Route, TableView};
use crate::widgets::{ErrorBox, Loading, Remote, input_text, input_value};

#[derive(Properties, PartialEq)]
pub struct SidebarProps {
    pub selected: String,
    /// Changes when runs were added or removed elsewhere.
    pub revision: u32,
}

type Listing = (Vec<Experiment>, HashMap<String, i64>);

#[component]
pub fn Sidebar(props: &SidebarProps) -> Html {
    let listing = use_state(|| Remote::<Listing>::Loading);
    let show_deleted = use_state(|| false);
    let search = use_state(String::new);
    let creating = use_state(|| None::<String>);
    let renaming = use_state(|| None::<(String, String)>);
    let action_error = use_state(|| None::<ApiError>);
    let reload = use_state(|| 0u32);

    {
        let listing = listing.clone();
        use_effect_with((*show_deleted, *reload, props.revision), move |(deleted, _, _)| {
            let deleted = *deleted;
            spawn_local(async move {
                let result =
                    async { Ok::<_, ApiError>((api::experiments(deleted).await?, api::run_counts().await?)) }.await;
                listing.set(match result {
                    Ok(l) => Remote::Ready(l),
                    Err(e) => Remote::Failed(e),
                });
            });
        });
    }

    // Runs an action, then reloads the list; failures show above the list.
    let act = {
        let reload = reload.clone();
        let action_error = action_error.clone();
        move |f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<String>, ApiError>>>>| {
            let reload = reload.clone();
            let action_error = action_error.clone();
            spawn_local(async move {
                match f.await {
                    Ok(go_to) => {
                        action_error.set(None);
                        if let Some(id) = go_to {
                            dom::navigate(&Route::Experiment { id, view: TableView::default() });
                        }
                    }
                    Err(e) => action_error.set(Some(e)),
                }
                reload.set(*reload + 1);
            });
        }
    };

    let on_create_key = {
        let creating = creating.clone();
        let act = act.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => {
                let name = input_value(&e).trim().to_string();
                creating.set(None);
                if !name.is_empty() {
                    act(Box::pin(async move { api::create_experiment(&name).await.map(Some) }));
                }
            }
            "Escape" => creating.set(None),
            _ => {}
        })
    };
    let on_rename_key = {
        let renaming = renaming.clone();
        let act = act.clone();
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => {
                if let Some((id, _)) = (*renaming).clone() {
                    let name = input_value(&e).trim().to_string();
                    renaming.set(None);
                    act(Box::pin(async move { api::rename_experiment(&id, &name).await.map(|_| None) }));
                }
            }
            "Escape" => renaming.set(None),
            _ => {}
        })
    };

    let body = match &*listing {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready((experiments, counts)) => {
            let needle = search.to_lowercase();
            let shown: Vec<&Experiment> =
                experiments.iter().filter(|e| needle.is_empty() || e.name.to_lowercase().contains(&needle)).collect();
            if shown.is_empty() {
                html! { <div class="muted pad">{ if needle.is_empty() { "No experiments yet." } else { "No experiment matches." } }</div> }
            } else {
                html! {
                    <ul class="experiments" role="listbox" aria-label="Experiments">
                    { for shown.into_iter().map(|e| {
                        let id = e.experiment_id.clone();
                        let deleted = e.lifecycle_stage == "deleted";
                        let selected = props.selected == id;
                        let count = counts.get(&id).copied().unwrap_or(0);
                        let class = classes!("experiment", selected.then_some("selected"), deleted.then_some("deleted"));
                        let href = Route::Experiment { id: id.clone(), view: TableView::default() }.href();
                        let is_renaming = renaming.as_ref().is_some_and(|(r, _)| r == &id);
                        let start_rename = {
                            let renaming = renaming.clone();
                            let (id, name) = (id.clone(), e.name.clone());
                            Callback::from(move |ev: MouseEvent| { ev.prevent_default(); renaming.set(Some((id.clone(), name.clone()))) })
                        };
                        let toggle_deleted = {
                            let act = act.clone();
                            let (id, name) = (id.clone(), e.name.clone());
                            Callback::from(move |ev: MouseEvent| {
                                ev.prevent_default();
                                let id = id.clone();
                                if deleted {
                                    act(Box::pin(async move { api::set_experiment_lifecycle(&id, false).await.map(|_| None) }));
                                } else if dom::confirm(&format!("Delete experiment \"{name}\"? It can be restored later.")) {
                                    act(Box::pin(async move { api::set_experiment_lifecycle(&id, true).await.map(|_| None) }));
                                }
                            })
                        };
                        html! {
                            <li {class} role="option" aria-selected={selected.to_string()} key={id.clone()}>
                                if is_renaming {
                                    <input class="rename" value={e.name.clone()} onkeydown={on_rename_key.clone()} aria-label="New name" autofocus=true />
                                } else {
                                    <a href={href} title={e.name.clone()}>
                                        <span class="name">{ &e.name }</span>
                                        <span class="count">{ count }</span>
                                    </a>
                                    <span class="actions">
                                        if !deleted {
                                            <button class="icon" title="Rename" onclick={start_rename}>{ "✎" }</button>
                                        }
                                        <button class="icon" title={ if deleted { "Restore" } else { "Delete" } } onclick={toggle_deleted}>
                                            { if deleted { "↺" } else { "🗑" } }
                                        </button>
                                    </span>
                                }
                            </li>
                        }
                    }) }
                    </ul>
                }
            }
        }
    };

    html! {
        <nav class="sidebar" aria-label="Experiments">
            <div class="sidebar-head">
                <strong>{ "Experiments" }</strong>
                <button class="small" title="New experiment" onclick={ let c = creating.clone(); move |_| c.set(Some(String::new())) }>{ "+ New" }</button>
            </div>
            if creating.is_some() {
                <input class="create" placeholder="Experiment name, then Enter" onkeydown={on_create_key} aria-label="New experiment name" autofocus=true />
            }
            <input class="search" type="search" placeholder="Search experiments"
                value={(*search).clone()} oninput={ let s = search.clone(); move |e: InputEvent| s.set(input_text(&e)) } />
            <label class="check">
                <input type="checkbox" checked={*show_deleted} onchange={ let d = show_deleted.clone(); move |_| d.set(!*d) } />
                { "Show deleted" }
            </label>
            if let Some(e) = &*action_error {
                <ErrorBox error={e.clone()} />
            }
            { body }
        </nav>
    }
}
