//! Small shared pieces: loading, error and empty states, and a remote value.

use yew::prelude::*;

use crate::api::ApiError;

/// Something fetched from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote<T> {
    Loading,
    Ready(T),
    Failed(ApiError),
}

#[derive(Properties, PartialEq)]
pub struct ErrorProps {
    pub error: ApiError,
}

/// An error as the user reads it: what happened, and the code to search for.
#[component]
pub fn ErrorBox(props: &ErrorProps) -> Html {
    html! {
        <div class="error" role="alert">
            <strong>{ &props.error.message }</strong>
            <span class="code">{ &props.error.code }</span>
        </div>
    }
}

#[component]
pub fn Loading() -> Html {
    html! { <div class="loading" aria-busy="true"><span class="spinner"></span>{ "Loading…" }</div> }
}

#[derive(Properties, PartialEq)]
pub struct EmptyProps {
    pub title: AttrValue,
    #[prop_or_default]
    pub children: Html,
}

#[component]
pub fn Empty(props: &EmptyProps) -> Html {
    html! {
        <div class="empty">
            <strong>{ props.title.clone() }</strong>
            <div>{ props.children.clone() }</div>
        </div>
    }
}

/// The value of the input behind an event.
pub fn input_value(e: &Event) -> String {
    use wasm_bindgen::JsCast;
    e.target()
        .and_then(|t| {
            t.dyn_ref::<web_sys::HtmlInputElement>()
                .map(|i| i.value())
                .or_else(|| t.dyn_ref::<web_sys::HtmlTextAreaElement>().map(|i| i.value()))
                .or_else(|| t.dyn_ref::<web_sys::HtmlSelectElement>().map(|i| i.value()))
        })
        .unwrap_or_default()
}

pub fn input_text(e: &InputEvent) -> String {
    input_value(e)
}

/// An edit sent to the server.
pub type Edit = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ApiError>>>>;

/// Runs edits in the background: a failure shows in `error`; a success
/// clears it and runs `done` (to reload what the edit changed).
pub fn edit_runner(error: UseStateHandle<Option<ApiError>>, done: Callback<()>) -> impl Fn(Edit) + Clone {
    move |edit: Edit| {
        let (error, done) = (error.clone(), done.clone());
        yew::platform::spawn_local(async move {
            match edit.await {
                Ok(()) => {
                    error.set(None);
                    done.emit(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    }
}

/// Fetches `key` with `fetch` when the key or `reload` changes.
#[hook]
pub fn use_remote<T: Clone + PartialEq + 'static, F>(
    key: String,
    reload: u32,
    fetch: impl Fn(String) -> F + 'static,
) -> UseStateHandle<Remote<T>>
where
    F: std::future::Future<Output = Result<T, ApiError>> + 'static,
{
    let state = use_state(|| Remote::<T>::Loading);
    {
        let state = state.clone();
        use_effect_with((key, reload), move |(key, _)| {
            let future = fetch(key.clone());
            yew::platform::spawn_local(async move {
                state.set(match future.await {
                    Ok(v) => Remote::Ready(v),
                    Err(e) => Remote::Failed(e),
                });
            });
        });
    }
    state
}
