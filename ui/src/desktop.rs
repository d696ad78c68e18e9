//! What the UI adds inside the desktop app: a status bar (the tracking
//! server's address, sync state), and the dialogs behind the native menu
//! (connect a script, remotes and tokens, preferences). In a plain browser
//! none of it renders: it needs the shell's IPC (`window.__TAURI__`).

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::ApiError;
use crate::desktop_status::{self as status, Info, RemoteCheck, RemoteEntry, Status, SyncRound, Tone};
use crate::widgets::{ErrorBox, input_value};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["window", "__TAURI__", "core"], js_name = invoke)]
    async fn tauri_invoke(cmd: &str, args: JsValue) -> Result<JsValue, JsValue>;
}

/// Whether the page runs inside the desktop app.
pub fn in_desktop() -> bool {
    web_sys::window().is_some_and(|w| js_sys::Reflect::has(&w, &"__TAURI__".into()).unwrap_or(false))
}

fn json_of(value: &JsValue) -> String {
    if value.is_undefined() || value.is_null() {
        return "null".into();
    }
    js_sys::JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_else(|| "null".into())
}

/// Calls a desktop command. Its errors arrive as `{code, message}`.
async fn invoke<T: DeserializeOwned>(cmd: &str, args: Value) -> Result<T, ApiError> {
    let args = js_sys::JSON::parse(&args.to_string()).unwrap_or(JsValue::NULL);
    match tauri_invoke(cmd, args).await {
        Ok(value) => serde_json::from_str(&json_of(&value)).map_err(|e| ApiError {
            code: "INTERNAL_ERROR".into(),
            message: format!("unexpected reply to {cmd}: {e}"),
        }),
        Err(error) => {
            let text = json_of(&error);
            Err(match serde_json::from_str::<almanac_desktop_ipc::Error>(&text) {
                Ok(w) => ApiError { code: w.code, message: w.message },
                Err(_) => ApiError { code: "INTERNAL_ERROR".into(), message: error.as_string().unwrap_or(text) },
            })
        }
    }
}

/// Copies text, through the async clipboard where the page may use it and
/// a selected textarea where it may not.
fn copy_text(text: &str) {
    let Some(window) = web_sys::window() else { return };
    let clipboard = js_sys::Reflect::get(&window.navigator(), &"clipboard".into()).ok().filter(|c| !c.is_undefined());
    if let Some(clipboard) = clipboard
        && let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into())
        && let Some(write) = write.dyn_ref::<js_sys::Function>()
        && write.call1(&clipboard, &text.into()).is_ok()
    {
        return;
    }
    let Some(document) = window.document() else { return };
    if let Ok(area) = document.create_element("textarea") {
        area.set_text_content(Some(text));
        if let Some(body) = document.body() {
            let _ = body.append_child(&area);
            if let Some(area) = area.dyn_ref::<web_sys::HtmlTextAreaElement>() {
                area.select();
            }
            if let Some(doc) = document.dyn_ref::<web_sys::HtmlDocument>() {
                let _ = doc.exec_command("copy");
            }
            let _ = body.remove_child(&area);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialog {
    Connect,
    Remotes,
    Preferences,
}

/// Listens for a DOM event on the window for the component's lifetime.
#[hook]
fn use_window_event(name: &'static str, handler: Callback<JsValue>) {
    use_effect_with((), move |_| {
        let listener = Closure::<dyn Fn(web_sys::Event)>::new(move |e: web_sys::Event| {
            let detail = js_sys::Reflect::get(&e, &"detail".into()).unwrap_or(JsValue::NULL);
            handler.emit(detail);
        });
        let window = web_sys::window();
        if let Some(w) = &window {
            let _ = w.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
        move || {
            if let Some(w) = window {
                let _ = w.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            }
        }
    });
}

/// Calls `tick` every `ms` for the component's lifetime.
#[hook]
fn use_interval(ms: i32, tick: Callback<()>) {
    use_effect_with((), move |_| {
        let closure = Closure::<dyn Fn()>::new(move || tick.emit(()));
        let window = web_sys::window();
        let id = window.as_ref().and_then(|w| {
            w.set_interval_with_callback_and_timeout_and_arguments_0(closure.as_ref().unchecked_ref(), ms).ok()
        });
        move || {
            if let (Some(w), Some(id)) = (window, id) {
                w.clear_interval_with_handle(id);
            }
            drop(closure);
        }
    });
}

/// The desktop additions; renders nothing in a plain browser.
#[component]
pub fn DesktopShell() -> Html {
    if in_desktop() {
        html! { <DesktopBar /> }
    } else {
        html! {}
    }
}

#[component]
fn DesktopBar() -> Html {
    let info = use_state(|| None::<Info>);
    let state = use_state(|| None::<Result<Status, ApiError>>);
    let dialog = use_state(|| None::<Dialog>);
    let notice = use_state(|| None::<(String, Tone)>);
    let copied = use_state(|| false);

    let refresh = {
        let state = state.clone();
        Callback::from(move |()| {
            let state = state.clone();
            spawn_local(async move { state.set(Some(invoke::<Status>("sync_status", json!({})).await)) });
        })
    };
    {
        let (info, refresh) = (info.clone(), refresh.clone());
        use_effect_with((), move |_| {
            spawn_local(async move {
                if let Ok(i) = invoke::<Info>("desktop_info", json!({})).await {
                    info.set(Some(i));
                }
            });
            refresh.emit(());
        });
    }
    use_interval(5000, refresh.clone());
    {
        let (dialog, refresh, notice) = (dialog.clone(), refresh.clone(), notice.clone());
        use_window_event(
            "almanac:menu",
            Callback::from(move |detail: JsValue| match detail.as_string().as_deref() {
                Some("remotes") => dialog.set(Some(Dialog::Remotes)),
                Some("preferences") => dialog.set(Some(Dialog::Preferences)),
                Some("connect" | "docs") => dialog.set(Some(Dialog::Connect)),
                Some("sync-started") => {
                    notice.set(Some(("Syncing…".into(), Tone::Busy)));
                    refresh.emit(());
                }
                _ => {}
            }),
        );
    }
    {
        let (refresh, notice) = (refresh.clone(), notice.clone());
        use_window_event(
            "almanac:synced",
            Callback::from(move |detail: JsValue| {
                if let Ok(round) = serde_json::from_str::<SyncRound>(&json_of(&detail)) {
                    notice.set(Some(status::round_summary(&round)));
                }
                refresh.emit(());
            }),
        );
    }
    {
        let notice = notice.clone();
        use_window_event(
            "almanac:error",
            Callback::from(move |detail: JsValue| {
                let message = js_sys::Reflect::get(&detail, &"message".into()).ok().and_then(|m| m.as_string());
                notice.set(Some((message.unwrap_or_else(|| "Something went wrong".into()), Tone::Warn)));
            }),
        );
    }

    let sync_now = {
        let (state, notice, refresh) = (state.clone(), notice.clone(), refresh.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(Ok(s)) = &*state {
                state.set(Some(Ok(Status { syncing: true, ..s.clone() })));
            }
            notice.set(Some(("Syncing…".into(), Tone::Busy)));
            let (notice, refresh) = (notice.clone(), refresh.clone());
            spawn_local(async move {
                match invoke::<SyncRound>("sync_now", json!({})).await {
                    Ok(round) => notice.set(Some(status::round_summary(&round))),
                    Err(e) => notice.set(Some((e.message, Tone::Warn))),
                }
                refresh.emit(());
            });
        })
    };
    let open = |which: Dialog| {
        let dialog = dialog.clone();
        Callback::from(move |_: MouseEvent| dialog.set(Some(which)))
    };
    let close = {
        let (dialog, refresh) = (dialog.clone(), refresh.clone());
        Callback::from(move |()| {
            dialog.set(None);
            refresh.emit(());
        })
    };
    let copy_uri = {
        let (info, copied) = (info.clone(), copied.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(i) = &*info {
                copy_text(&i.tracking_uri);
                copied.set(true);
            }
        })
    };

    let (sync_text, tone) = match &*state {
        None => ("…".to_string(), Tone::Calm),
        Some(Ok(s)) => status::sync_line(s),
        Some(Err(e)) => (e.message.clone(), Tone::Warn),
    };
    let syncing = matches!(&*state, Some(Ok(s)) if s.syncing);
    let tone_class = |tone: Tone| match tone {
        Tone::Calm => "calm",
        Tone::Busy => "busy",
        Tone::Warn => "warn",
    };
    html! {
        <>
            <footer class="statusbar" id="desktop-status">
                if let Some(i) = &*info {
                    <button class="link" id="tracking-uri" title="How to log runs here" onclick={open(Dialog::Connect)}>
                        <span class="dot"></span>{ &i.tracking_uri }
                    </button>
                    <button class="small" id="copy-uri" onclick={copy_uri}>
                        { if *copied { "Copied" } else { "Copy" } }
                    </button>
                    <span class="store muted" title={i.store.clone()}>{ &i.store }</span>
                }
                <span class={classes!("sync", tone_class(tone))} id="sync-state">{ sync_text }</span>
                <button class="small" id="sync-now" disabled={syncing} onclick={sync_now}>{ "Sync now" }</button>
                <button class="small" id="open-remotes" onclick={open(Dialog::Remotes)}>{ "Remotes…" }</button>
            </footer>
            if let Some((text, tone)) = &*notice {
                <div class={classes!("toast", tone_class(*tone))} role="status" id="desktop-notice">
                    <span>{ text }</span>
                    <button class="icon" aria-label="Dismiss" onclick={
                        let notice = notice.clone();
                        move |_| notice.set(None)
                    }>{ "✕" }</button>
                </div>
            }
            { match (*dialog, &*info) {
                (Some(Dialog::Connect), Some(i)) => html! { <ConnectDialog info={i.clone()} on_close={close.clone()} /> },
                (Some(Dialog::Remotes), _) => html! { <RemotesDialog on_close={close.clone()} /> },
                (Some(Dialog::Preferences), _) => {
                    let minutes = match &*state { Some(Ok(s)) => s.auto_sync_minutes, _ => None };
                    html! { <PreferencesDialog {minutes} on_close={close.clone()} /> }
                }
                _ => html! {},
            } }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct ModalProps {
    title: AttrValue,
    id: AttrValue,
    on_close: Callback<()>,
    children: Html,
}

/// A dialog over the page; Escape or the backdrop closes it.
#[component]
fn Modal(props: &ModalProps) -> Html {
    // Focus moves into the dialog, so Escape and Tab work at once.
    let dialog = use_node_ref();
    {
        let dialog = dialog.clone();
        use_effect_with((), move |_| {
            if let Some(d) = dialog.cast::<web_sys::HtmlElement>() {
                let _ = d.focus();
            }
        });
    }
    let on_key = {
        let close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                close.emit(());
            }
        })
    };
    let backdrop = {
        let close = props.on_close.clone();
        Callback::from(move |e: MouseEvent| {
            let on_backdrop = e.target().zip(e.current_target()).is_some_and(|(t, c)| t == c);
            if on_backdrop {
                close.emit(());
            }
        })
    };
    let close = {
        let close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| close.emit(()))
    };
    html! {
        <div class="backdrop" onclick={backdrop} onkeydown={on_key}>
            <div class="dialog" role="dialog" aria-modal="true" aria-label={props.title.clone()} id={props.id.clone()}
                tabindex="-1" ref={dialog}>
                <div class="dialog-head">
                    <h2>{ props.title.clone() }</h2>
                    <button class="icon" aria-label="Close" onclick={close}>{ "✕" }</button>
                </div>
                { props.children.clone() }
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ConnectProps {
    info: Info,
    on_close: Callback<()>,
}

#[component]
fn ConnectDialog(props: &ConnectProps) -> Html {
    let block = |id: &str, label: &str, text: &str| {
        let copy = {
            let text = text.to_string();
            Callback::from(move |_: MouseEvent| copy_text(&text))
        };
        html! {
            <div class="copy-block">
                <div class="copy-head"><span>{ label.to_string() }</span><button class="small" onclick={copy}>{ "Copy" }</button></div>
                <pre id={id.to_string()}>{ text.to_string() }</pre>
            </div>
        }
    };
    let i = &props.info;
    html! {
        <Modal title="Log runs into Almanac" id="connect-dialog" on_close={props.on_close.clone()}>
            <p>{ "Almanac serves this store to your training scripts while the app is open. Point the mlflow client at it and change nothing else." }</p>
            { block("connect-uri", "Tracking URI", &i.tracking_uri) }
            { block("connect-shell", "In a shell", &i.shell_line) }
            { block("connect-python", "In Python", &i.python_lines) }
            <p class="muted">{ format!("Store: {} · Almanac {}", i.store, i.version) }</p>
            <p class="muted">{ "Keys: Ctrl+Shift+S syncs, Ctrl+Shift+R opens remotes, Ctrl+O opens another store, Ctrl+R reloads; in the runs table, j/k or arrows move and Enter opens." }</p>
        </Modal>
    }
}

#[derive(Properties, PartialEq)]
struct RemotesProps {
    on_close: Callback<()>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct RemoteForm {
    name: String,
    url: String,
    artifacts: String,
    token: String,
    /// Editing this existing remote (its name is fixed).
    existing: bool,
}

#[component]
fn RemotesDialog(props: &RemotesProps) -> Html {
    let remotes = use_state(|| None::<Result<Vec<RemoteEntry>, ApiError>>);
    let form = use_state(RemoteForm::default);
    let error = use_state(|| None::<ApiError>);
    let message = use_state(|| None::<String>);
    let checks = use_state(std::collections::HashMap::<String, Result<RemoteCheck, ApiError>>::new);
    let busy = use_state(|| false);

    let reload = {
        let remotes = remotes.clone();
        Callback::from(move |()| {
            let remotes = remotes.clone();
            spawn_local(async move { remotes.set(Some(invoke("remotes", json!({})).await)) });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with((), move |_| reload.emit(()));
    }

    let field = |pick: fn(&mut RemoteForm) -> &mut String| {
        let form = form.clone();
        Callback::from(move |e: InputEvent| {
            let mut next = (*form).clone();
            *pick(&mut next) = input_value(&e);
            form.set(next);
        })
    };
    let save = {
        let (form, error, message, reload, busy) =
            (form.clone(), error.clone(), message.clone(), reload.clone(), busy.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let f = (*form).clone();
            let (form, error, message, reload, busy) =
                (form.clone(), error.clone(), message.clone(), reload.clone(), busy.clone());
            busy.set(true);
            spawn_local(async move {
                let remote = json!({
                    "name": f.name.trim(), "url": f.url.trim(),
                    "artifacts": if f.artifacts.trim().is_empty() { Value::Null } else { f.artifacts.trim().into() },
                    "existing": f.existing,
                });
                let mut result = invoke::<()>("save_remote", json!({ "remote": remote })).await;
                let with_token = !f.token.trim().is_empty();
                if result.is_ok() && with_token {
                    result = invoke::<()>("save_token", json!({"name": f.name.trim(), "token": f.token})).await;
                }
                busy.set(false);
                match result {
                    Ok(()) => {
                        error.set(None);
                        message.set(Some(if with_token {
                            format!("Saved {}; its token is in the OS keyring.", f.name.trim())
                        } else {
                            format!("Saved {}.", f.name.trim())
                        }));
                        form.set(RemoteForm::default());
                    }
                    Err(e) => {
                        // The token field is cleared either way: it is never kept around.
                        form.set(RemoteForm { token: String::new(), ..f });
                        error.set(Some(e));
                    }
                }
                reload.emit(());
            });
        })
    };
    let act = |name: String, which: &'static str| {
        let (error, message, reload, checks) = (error.clone(), message.clone(), reload.clone(), checks.clone());
        Callback::from(move |_: MouseEvent| {
            let (name, error, message, reload, checks) =
                (name.clone(), error.clone(), message.clone(), reload.clone(), checks.clone());
            if which == "remove_remote"
                && !crate::dom::confirm(&format!("Remove remote {name}? Nothing is deleted on it."))
            {
                return;
            }
            spawn_local(async move {
                match which {
                    "test_remote" => {
                        let result = invoke::<RemoteCheck>("test_remote", json!({"name": name})).await;
                        let mut next = (*checks).clone();
                        next.insert(name, result);
                        checks.set(next);
                    }
                    _ => match invoke::<Value>(which, json!({"name": name})).await {
                        Ok(_) => {
                            error.set(None);
                            message.set(Some(match which {
                                "forget_token" => format!("Forgot the token for {name}."),
                                _ => format!("Removed {name}."),
                            }));
                        }
                        Err(e) => error.set(Some(e)),
                    },
                }
                reload.emit(());
            });
        })
    };
    let edit = |r: &RemoteEntry| {
        let (form, r) = (form.clone(), r.clone());
        Callback::from(move |_: MouseEvent| {
            form.set(RemoteForm {
                name: r.name.clone(),
                url: r.url.clone(),
                artifacts: r.artifacts.clone().unwrap_or_default(),
                token: String::new(),
                existing: true,
            })
        })
    };
    let cancel_edit = {
        let form = form.clone();
        Callback::from(move |_: MouseEvent| form.set(RemoteForm::default()))
    };

    let list = match &*remotes {
        None => html! { <p class="muted">{ "Loading…" }</p> },
        Some(Err(e)) => html! { <ErrorBox error={e.clone()} /> },
        Some(Ok(list)) if list.is_empty() => html! {
            <p class="muted" id="no-remotes">{ "No remotes yet. Add a git remote below: a GitHub or GitLab repository, or a bare repository on a share." }</p>
        },
        Some(Ok(list)) => html! {
            <table class="remotes">
                <tbody>
                { for list.iter().map(|r| {
                    let token = match r.has_token {
                        Some(true) => html! { <span class="ok">{ "token saved" }</span> },
                        Some(false) => html! { <span class="muted">{ "no token" }</span> },
                        None => html! { <span class="warn">{ "keyring unavailable" }</span> },
                    };
                    let check = match checks.get(&r.name) {
                        Some(Ok(c)) if c.reachable => html! { <span class="ok">{ format!("reachable, {} ops to fetch", c.behind.unwrap_or(0)) }</span> },
                        Some(Ok(c)) => html! { <span class="warn">{ format!("unreachable: {}", c.error.clone().unwrap_or_default()) }</span> },
                        Some(Err(e)) => html! { <span class="warn">{ e.message.clone() }</span> },
                        None => html! {},
                    };
                    html! {
                        <tr class="remote" data-name={r.name.clone()}>
                            <td><strong>{ &r.name }</strong><div class="muted url">{ &r.url }</div><div class="check">{ check }</div></td>
                            <td>{ token }</td>
                            <td class="actions">
                                <button class="small" onclick={edit(r)}>{ "Edit" }</button>
                                <button class="small test" onclick={act(r.name.clone(), "test_remote")}>{ "Test" }</button>
                                if r.has_token == Some(true) {
                                    <button class="small" onclick={act(r.name.clone(), "forget_token")}>{ "Forget token" }</button>
                                }
                                <button class="small danger" onclick={act(r.name.clone(), "remove_remote")}>{ "Remove" }</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        },
    };
    let f = &*form;
    html! {
        <Modal title="Remotes" id="remotes-dialog" on_close={props.on_close.clone()}>
            { list }
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            if let Some(m) = &*message { <p class="ok" id="remotes-message">{ m }</p> }
            <form class="remote-form" onsubmit={save}>
                <h3>{ if f.existing { format!("Edit {}", f.name) } else { "Add a remote".to_string() } }</h3>
                <label>{ "Name" }
                    <input id="remote-name" value={f.name.clone()} disabled={f.existing} placeholder="team" oninput={field(|f| &mut f.name)} />
                </label>
                <label>{ "Git URL or path" }
                    <input id="remote-url" value={f.url.clone()} placeholder="https://github.com/acme/runs.git" oninput={field(|f| &mut f.url)} />
                </label>
                <label>{ "Artifact folder (optional)" }
                    <input id="remote-artifacts" value={f.artifacts.clone()} placeholder="/mnt/share/almanac-artifacts" oninput={field(|f| &mut f.artifacts)} />
                </label>
                <label>{ "Access token (optional)" }
                    <input id="remote-token" type="password" autocomplete="off" value={f.token.clone()}
                        placeholder={if f.existing { "leave empty to keep the saved token" } else { "saved in the OS keyring, never shown again" }}
                        oninput={field(|f| &mut f.token)} />
                </label>
                <div class="form-actions">
                    if f.existing { <button type="button" onclick={cancel_edit}>{ "Cancel" }</button> }
                    <button class="primary" type="submit" id="remote-save" disabled={*busy}>{ "Save" }</button>
                </div>
            </form>
        </Modal>
    }
}

#[derive(Properties, PartialEq)]
struct PreferencesProps {
    minutes: Option<u32>,
    on_close: Callback<()>,
}

#[component]
fn PreferencesDialog(props: &PreferencesProps) -> Html {
    let error = use_state(|| None::<ApiError>);
    let saved = use_state(|| false);
    let choose = {
        let (error, saved) = (error.clone(), saved.clone());
        Callback::from(move |e: Event| {
            let minutes: Option<u32> = input_value(&e).parse().ok();
            let (error, saved) = (error.clone(), saved.clone());
            spawn_local(async move {
                match invoke::<()>("set_auto_sync", json!({ "minutes": minutes })).await {
                    Ok(()) => {
                        error.set(None);
                        saved.set(true);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let current = props.minutes.map(|m| m.to_string()).unwrap_or_default();
    let mut options: Vec<(String, String)> = [
        ("", "Off"),
        ("5", "Every 5 minutes"),
        ("15", "Every 15 minutes"),
        ("30", "Every 30 minutes"),
        ("60", "Every hour"),
    ]
    .iter()
    .map(|(v, l)| (v.to_string(), l.to_string()))
    .collect();
    if !options.iter().any(|(v, _)| *v == current) {
        options.push((current.clone(), format!("Every {current} minutes")));
    }
    html! {
        <Modal title="Preferences" id="preferences-dialog" on_close={props.on_close.clone()}>
            <label>{ "Sync with every remote in the background " }
                <select id="auto-sync" onchange={choose}>
                    { for options.iter().map(|(value, label)| html! {
                        <option value={value.clone()} selected={current == *value}>{ label.clone() }</option>
                    }) }
                </select>
            </label>
            if *saved { <p class="ok">{ "Saved." }</p> }
            if let Some(e) = &*error { <ErrorBox error={e.clone()} /> }
            <p class="muted">{ "A failed background sync shows in the status bar and never interrupts your work." }</p>
        </Modal>
    }
}
