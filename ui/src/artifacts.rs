//! A run's artifacts: a folder browser with previews of text, JSON, YAML,
//! CSV (as a table), images and MLmodel files.

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, FileInfo, RunInfo};
use crate::preview::{self, Kind};
use crate::widgets::{ErrorBox, Loading, Remote};

#[derive(Properties, PartialEq)]
pub struct ArtifactsProps {
    pub run: RunInfo,
}

#[component]
pub fn Artifacts(props: &ArtifactsProps) -> Html {
    let dir = use_state(String::new);
    let listing = use_state(|| Remote::<Vec<FileInfo>>::Loading);
    let open = use_state(|| None::<FileInfo>);
    {
        let listing = listing.clone();
        use_effect_with((props.run.run_id.clone(), (*dir).clone()), move |(run_id, dir)| {
            let (run_id, dir) = (run_id.clone(), dir.clone());
            listing.set(Remote::Loading);
            spawn_local(async move {
                listing.set(match api::artifacts(&run_id, &dir).await {
                    Ok(mut files) => {
                        files.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then(a.path.cmp(&b.path)));
                        Remote::Ready(files)
                    }
                    Err(e) => Remote::Failed(e),
                });
            });
        });
    }
    let crumbs = {
        let mut parts = vec![(String::new(), "artifacts".to_string())];
        let mut acc = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(part);
            parts.push((acc.clone(), part.to_string()));
        }
        parts
    };
    let list = match &*listing {
        Remote::Loading => html! { <Loading /> },
        Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
        Remote::Ready(files) if files.is_empty() => html! { <div class="muted">{ "No artifacts here." }</div> },
        Remote::Ready(files) => html! {
            <ul class="artifact-list">
            { for files.iter().map(|f| {
                let name = f.path.rsplit('/').next().unwrap_or(&f.path).to_string();
                let file = f.clone();
                let onclick = {
                    let (dir, open) = (dir.clone(), open.clone());
                    Callback::from(move |_| if file.is_dir { dir.set(file.path.clone()); open.set(None) } else { open.set(Some(file.clone())) })
                };
                let selected = open.as_ref().is_some_and(|o| o.path == f.path);
                html! {
                    <li key={f.path.clone()} class={classes!(selected.then_some("selected"))}>
                        <button class="artifact" {onclick} data-path={f.path.clone()}>
                            { if f.is_dir { "📁 " } else { "📄 " } }{ name }
                        </button>
                        if let Some(size) = f.file_size { <span class="muted size">{ human_size(size) }</span> }
                    </li>
                }
            }) }
            </ul>
        },
    };
    html! {
        <div class="artifacts">
            <div class="artifact-tree">
                <nav class="crumbs">
                { for crumbs.into_iter().map(|(path, label)| {
                    let (d, o) = (dir.clone(), open.clone());
                    html! { <><button class="link" onclick={move |_| { d.set(path.clone()); o.set(None) }}>{ label }</button>{ " / " }</> }
                }) }
                </nav>
                { list }
            </div>
            <div class="artifact-preview">
                if let Some(file) = &*open {
                    <Preview run={props.run.clone()} file={file.clone()} />
                } else {
                    <div class="muted">{ "Select a file to preview it." }</div>
                }
            </div>
        </div>
    }
}

fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

#[derive(Properties, PartialEq)]
struct PreviewProps {
    run: RunInfo,
    file: FileInfo,
}

#[component]
fn Preview(props: &PreviewProps) -> Html {
    let url = api::artifact_url(&props.run, &props.file.path);
    let kind = preview::kind(&props.file.path);
    let too_big = props.file.file_size.unwrap_or(0) > preview::MAX_PREVIEW_BYTES;
    let content = use_state(|| Remote::<String>::Loading);
    {
        let content = content.clone();
        let fetch = !too_big && !matches!(kind, Kind::Image | Kind::Other);
        use_effect_with(url.clone(), move |url| {
            let url = url.clone();
            content.set(Remote::Loading);
            if fetch {
                spawn_local(async move {
                    content.set(match api::text(&url).await {
                        Ok(t) => Remote::Ready(t),
                        Err(e) => Remote::Failed(e),
                    });
                });
            }
        });
    }
    let head = html! {
        <div class="preview-head">
            <code>{ &props.file.path }</code>
            <a class="small" href={url.clone()} download="">{ "Download" }</a>
        </div>
    };
    let body = if too_big {
        html! { <div class="muted">{ "Too large to preview." }</div> }
    } else {
        match kind {
            Kind::Image => html! { <img class="preview-image" src={url.clone()} alt={props.file.path.clone()} /> },
            Kind::Other => html! { <div class="muted">{ "No preview for this kind of file." }</div> },
            _ => match &*content {
                Remote::Loading => html! { <Loading /> },
                Remote::Failed(e) => html! { <ErrorBox error={e.clone()} /> },
                Remote::Ready(text) => match kind {
                    Kind::Json => html! { <pre class="preview-text json">{ preview::pretty_json(text) }</pre> },
                    Kind::Csv(sep) => {
                        let rows = preview::csv(text, sep, 201);
                        let (head, rest) = rows.split_first().map(|(h, r)| (h.clone(), r.to_vec())).unwrap_or_default();
                        html! {
                            <table class="csv">
                                <thead><tr>{ for head.iter().map(|h| html! { <th>{ h }</th> }) }</tr></thead>
                                <tbody>{ for rest.iter().map(|r| html! { <tr>{ for r.iter().map(|c| html! { <td>{ c }</td> }) }</tr> }) }</tbody>
                            </table>
                        }
                    }
                    _ => html! { <pre class="preview-text">{ text }</pre> },
                },
            },
        }
    };
    html! { <div class="preview">{ head }{ body }</div> }
}
