//! The runs table of one experiment: virtualized (only the rows on screen
//! exist in the DOM; pages of rows are fetched as they scroll into view),
//! sortable on any column, filtered in MLflow's syntax, grouped by a param
//! or tag, with nesting, pins, multi-select and bulk actions.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use almanac_core::search::{Target, parse_filter};
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::api::{self, ApiError, Range, Run, RunGroup, RunKeys, TableQuery, TableWindow};
use crate::columns::{self, Column, MetricView, quoted};
use crate::dom;
use crate::format;
use crate::layout::{self, PAGE_SIZE, ROW_HEIGHT, Slot};
use crate::route::{Route, TableView};
use crate::widgets::{Empty, ErrorBox, Loading, input_text, input_value};

#[derive(Properties, PartialEq)]
pub struct TableProps {
    pub experiment_id: AttrValue,
    pub view: TableView,
    /// Called after runs were tagged or deleted here.
    pub on_change: Callback<()>,
}

struct Expansion {
    children: Option<Vec<Run>>,
}

pub enum Msg {
    Page { generation: u64, page: usize, result: Result<TableWindow, ApiError> },
    Keys(Result<RunKeys, ApiError>),
    Groups { generation: u64, result: Result<Vec<RunGroup>, ApiError> },
    Pinned { generation: u64, result: Result<TableWindow, ApiError> },
    Children { generation: u64, top: usize, result: Result<TableWindow, ApiError> },
    Scrolled,
    FilterInput(String),
    ApplyFilter,
    Sort(Column),
    GroupBy(String),
    OpenGroup(Option<String>),
    MetricView(MetricView),
    ToggleNest,
    ToggleColumn(Column),
    ToggleChooser,
    ChooserSearch(String),
    Select(String, bool),
    SelectVisible,
    ClearSelection,
    Expand(usize, String),
    Pin(Vec<String>),
    Key(KeyboardEvent),
    Cursor(usize),
    TagForm(Option<(String, String)>),
    UntagForm(Option<String>),
    ApplyTag,
    ApplyUntag,
    DeleteSelected,
    Compare,
    Done(Result<String, ApiError>),
}

pub struct RunsTable {
    /// Bumped whenever the query changes; replies of older queries are dropped.
    generation: u64,
    total: Option<i64>,
    pages: HashMap<usize, Vec<Run>>,
    requested: HashSet<usize>,
    child_counts: HashMap<String, i64>,
    ranges: HashMap<String, HashMap<String, Range>>,
    expanded: BTreeMap<usize, Expansion>,
    columns: Option<Vec<Column>>,
    keys: Option<RunKeys>,
    metric_view: MetricView,
    nest: bool,
    filter_text: String,
    filter_error: Option<String>,
    error: Option<ApiError>,
    selected: BTreeSet<String>,
    cursor: usize,
    scroll_top: f64,
    viewport: f64,
    pins: Vec<String>,
    pinned_runs: Vec<Run>,
    groups: Option<Result<Vec<RunGroup>, ApiError>>,
    chooser_open: bool,
    chooser_search: String,
    tag_form: Option<(String, String)>,
    untag_form: Option<String>,
    notice: Option<String>,
    action_error: Option<ApiError>,
    query_started: f64,
    timing_pending: bool,
    scroller: NodeRef,
}

fn pins_key(experiment_id: &str) -> String {
    format!("almanac.pins.{experiment_id}")
}

fn columns_key(experiment_id: &str) -> String {
    format!("almanac.columns.{experiment_id}")
}

/// Joins two filters with AND, keeping each whole.
fn and(a: &str, b: &str) -> String {
    match (a.trim(), b.trim()) {
        ("", b) => b.to_string(),
        (a, "") => a.to_string(),
        (a, b) => format!("({a}) AND {b}"),
    }
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Records how long the last table query took, for the browser benchmarks.
fn record_timing(name: &str, ms: f64) {
    if let Some(w) = web_sys::window() {
        let key = wasm_bindgen::JsValue::from_str("__almanacTimings");
        let mut obj = js_sys::Reflect::get(&w, &key).unwrap_or(wasm_bindgen::JsValue::UNDEFINED);
        if !obj.is_object() {
            obj = js_sys::Object::new().into();
            let _ = js_sys::Reflect::set(&w, &key, &obj);
        }
        let _ =
            js_sys::Reflect::set(&obj, &wasm_bindgen::JsValue::from_str(name), &wasm_bindgen::JsValue::from_f64(ms));
    }
}

impl RunsTable {
    fn nesting(&self, ctx: &Context<Self>) -> bool {
        self.nest && ctx.props().view.filter.trim().is_empty()
    }

    /// The filter the server gets: the user's, plus "top-level only" when nesting.
    fn effective_filter(&self, ctx: &Context<Self>) -> String {
        let user = ctx.props().view.filter.clone();
        if self.nesting(ctx) { and(&user, &format!("tags.{} IS NULL", quoted(api::PARENT_TAG))) } else { user }
    }

    fn query(&self, ctx: &Context<Self>, offset: i64, limit: i64) -> TableQuery {
        TableQuery {
            experiment_ids: vec![ctx.props().experiment_id.to_string()],
            filter: self.effective_filter(ctx),
            order_by: ctx.props().view.order_by.clone(),
            offset,
            limit,
            with_ranges: self.metric_view != MetricView::Latest,
        }
    }

    fn reset(&mut self, ctx: &Context<Self>) {
        self.generation += 1;
        self.total = None;
        self.pages.clear();
        self.requested.clear();
        self.child_counts.clear();
        self.ranges.clear();
        self.expanded.clear();
        self.error = None;
        self.groups = None;
        self.cursor = 0;
        self.query_started = dom::now_ms();
        self.timing_pending = true;
        if let Some(el) = self.scroller.cast::<web_sys::Element>() {
            el.set_scroll_top(0);
        }
        self.scroll_top = 0.0;
        let filter = ctx.props().view.filter.clone();
        self.filter_error = parse_filter(&filter, Target::Runs).err().map(|e| e.to_string());
        if self.filter_error.is_some() {
            self.total = Some(0);
            return;
        }
        if !ctx.props().view.group_by.is_empty() {
            self.load_groups(ctx);
        } else {
            self.request_page(ctx, 0);
        }
        self.load_pinned(ctx);
    }

    fn request_page(&mut self, ctx: &Context<Self>, page: usize) {
        if !self.requested.insert(page) {
            return;
        }
        let q = self.query(ctx, (page * PAGE_SIZE) as i64, PAGE_SIZE as i64);
        let generation = self.generation;
        ctx.link().send_future(async move { Msg::Page { generation, page, result: api::run_table(&q).await } });
    }

    fn load_groups(&self, ctx: &Context<Self>) {
        let generation = self.generation;
        let experiment = vec![ctx.props().experiment_id.to_string()];
        let filter = ctx.props().view.filter.clone();
        let by = ctx.props().view.group_by.clone();
        let metrics: Vec<String> = self
            .columns
            .iter()
            .flatten()
            .filter_map(|c| if let Column::Metric(k) = c { Some(k.clone()) } else { None })
            .collect();
        ctx.link().send_future(async move {
            Msg::Groups { generation, result: api::run_groups(&experiment, &filter, &by, &metrics).await }
        });
    }

    fn load_pinned(&self, ctx: &Context<Self>) {
        if self.pins.is_empty() {
            return;
        }
        let ids: Vec<String> = self.pins.iter().map(|p| literal(p)).collect();
        let q = TableQuery {
            experiment_ids: vec![ctx.props().experiment_id.to_string()],
            filter: format!("attributes.run_id IN ({})", ids.join(", ")),
            order_by: ctx.props().view.order_by.clone(),
            offset: 0,
            limit: 1000,
            with_ranges: self.metric_view != MetricView::Latest,
        };
        let generation = self.generation;
        ctx.link().send_future(async move { Msg::Pinned { generation, result: api::run_table(&q).await } });
    }

    /// Whether the current query's first answer is in: rows, groups, an
    /// error, or an empty result.
    fn has_data(&self) -> bool {
        !self.pages.is_empty() || self.groups.is_some() || self.error.is_some() || self.total == Some(0)
    }

    fn expansions(&self) -> Vec<(usize, usize)> {
        self.expanded.iter().map(|(i, e)| (*i, e.children.as_ref().map_or(0, Vec::len))).collect()
    }

    fn visual_rows(&self) -> usize {
        layout::visual_len(self.total.unwrap_or(0).max(0) as usize, &self.expansions())
    }

    fn top_run(&self, index: usize) -> Option<&Run> {
        self.pages.get(&(index / PAGE_SIZE))?.get(index % PAGE_SIZE)
    }

    fn run_at(&self, row: usize) -> Option<(&Run, Slot)> {
        let slot = layout::slot(row, &self.expansions());
        let run = match slot {
            Slot::Top(i) => self.top_run(i)?,
            Slot::Child { parent, index } => self.expanded.get(&parent)?.children.as_ref()?.get(index)?,
        };
        Some((run, slot))
    }

    fn fetch_visible(&mut self, ctx: &Context<Self>) {
        let (start, end) = layout::visible_rows(self.scroll_top, self.viewport, self.visual_rows());
        // Visual rows map to top-level indexes at or before them.
        let expansions = self.expansions();
        let to_top = |row: usize| match layout::slot(row, &expansions) {
            Slot::Top(i) => i,
            Slot::Child { parent, .. } => parent,
        };
        if start < end {
            for page in layout::pages(to_top(start), to_top(end - 1) + 1) {
                self.request_page(ctx, page);
            }
        }
    }

    fn navigate_view(&self, ctx: &Context<Self>, view: TableView) {
        dom::navigate(&Route::Experiment { id: ctx.props().experiment_id.to_string(), view });
    }

    fn save_columns(&self, ctx: &Context<Self>) {
        if let Some(cols) = &self.columns {
            let ids: Vec<String> = cols.iter().map(Column::id).collect();
            dom::save(&columns_key(&ctx.props().experiment_id), &ids);
        }
    }

    fn ensure_cursor_visible(&self) {
        let Some(el) = self.scroller.cast::<web_sys::Element>() else { return };
        let top = self.cursor as f64 * ROW_HEIGHT;
        let view_top = el.scroll_top() as f64;
        let height = el.client_height() as f64 - ROW_HEIGHT; // the sticky header
        if top < view_top {
            el.set_scroll_top(top as i32);
        } else if top + ROW_HEIGHT > view_top + height {
            el.set_scroll_top((top + ROW_HEIGHT - height) as i32);
        }
    }

    fn selected_ids(&self) -> Vec<String> {
        self.selected.iter().cloned().collect()
    }

    fn grid_template(cols: &[Column]) -> String {
        let mut parts = vec!["34px".to_string()];
        // Fixed widths: every row is its own grid, so content-sized tracks
        // would give each row different columns.
        parts.extend(cols.iter().map(|c| {
            match c {
                Column::Name => "240px",
                Column::Start => "150px",
                Column::Status | Column::Duration => "96px",
                _ => "120px",
            }
            .to_string()
        }));
        parts.join(" ")
    }
}

impl Component for RunsTable {
    type Message = Msg;
    type Properties = TableProps;

    fn create(ctx: &Context<Self>) -> Self {
        let id = ctx.props().experiment_id.to_string();
        let columns: Option<Vec<String>> = dom::load(&columns_key(&id));
        let mut table = RunsTable {
            generation: 0,
            total: None,
            pages: HashMap::new(),
            requested: HashSet::new(),
            child_counts: HashMap::new(),
            ranges: HashMap::new(),
            expanded: BTreeMap::new(),
            columns: columns.map(|ids| ids.iter().filter_map(|i| Column::from_id(i)).collect()),
            keys: None,
            metric_view: MetricView::Latest,
            nest: true,
            filter_text: ctx.props().view.filter.clone(),
            filter_error: None,
            error: None,
            selected: BTreeSet::new(),
            cursor: 0,
            scroll_top: 0.0,
            viewport: 900.0,
            pins: dom::load(&pins_key(&id)).unwrap_or_default(),
            pinned_runs: Vec::new(),
            groups: None,
            chooser_open: false,
            chooser_search: String::new(),
            tag_form: None,
            untag_form: None,
            notice: None,
            action_error: None,
            query_started: 0.0,
            timing_pending: false,
            scroller: NodeRef::default(),
        };
        table.reset(ctx);
        table
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Self::Properties) -> bool {
        let props = ctx.props();
        if props.experiment_id != old.experiment_id {
            let id = props.experiment_id.to_string();
            self.columns = dom::load::<Vec<String>>(&columns_key(&id))
                .map(|ids| ids.iter().filter_map(|i| Column::from_id(i)).collect());
            self.pins = dom::load(&pins_key(&id)).unwrap_or_default();
            self.pinned_runs.clear();
            self.keys = None;
            self.selected.clear();
            self.chooser_open = false;
        }
        if props.experiment_id != old.experiment_id || props.view != old.view {
            self.filter_text = props.view.filter.clone();
            self.reset(ctx);
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Page { generation, page, result } => {
                if generation != self.generation {
                    return false;
                }
                match result {
                    Ok(window) => {
                        self.total = Some(window.total);
                        if self.columns.is_none() {
                            self.columns = Some(columns::defaults(&window.runs));
                        }
                        self.child_counts.extend(window.child_counts);
                        self.ranges.extend(window.ranges);
                        self.pages.insert(page, window.runs);
                        self.fetch_visible(ctx);
                    }
                    Err(e) => {
                        self.requested.remove(&page);
                        self.error = Some(e);
                        self.total.get_or_insert(0);
                    }
                }
            }
            Msg::Keys(result) => match result {
                Ok(keys) => self.keys = Some(keys),
                Err(e) => self.action_error = Some(e),
            },
            Msg::Groups { generation, result } => {
                if generation != self.generation {
                    return false;
                }
                self.total = Some(result.as_ref().map(|g| g.iter().map(|g| g.count).sum()).unwrap_or(0));
                self.groups = Some(result);
            }
            Msg::Pinned { generation, result } => {
                if generation != self.generation {
                    return false;
                }
                match result {
                    Ok(window) => {
                        self.ranges.extend(window.ranges);
                        self.pinned_runs = window.runs;
                    }
                    Err(e) => self.action_error = Some(e),
                }
            }
            Msg::Children { generation, top, result } => {
                if generation != self.generation {
                    return false;
                }
                match result {
                    Ok(window) => {
                        self.ranges.extend(window.ranges);
                        if let Some(e) = self.expanded.get_mut(&top) {
                            e.children = Some(window.runs);
                        }
                    }
                    Err(e) => {
                        self.expanded.remove(&top);
                        self.action_error = Some(e);
                    }
                }
            }
            Msg::Scrolled => {
                let before = layout::visible_rows(self.scroll_top, self.viewport, self.visual_rows());
                if let Some(el) = self.scroller.cast::<web_sys::Element>() {
                    self.scroll_top = el.scroll_top() as f64;
                    self.viewport = el.client_height() as f64;
                }
                self.fetch_visible(ctx);
                // Within the overscan nothing new comes into view: no render.
                return layout::visible_rows(self.scroll_top, self.viewport, self.visual_rows()) != before;
            }
            Msg::FilterInput(text) => {
                self.filter_error = parse_filter(&text, Target::Runs).err().map(|e| e.to_string());
                self.filter_text = text;
            }
            Msg::ApplyFilter => {
                if self.filter_error.is_some() {
                    return true;
                }
                let mut view = ctx.props().view.clone();
                if view.filter == self.filter_text {
                    self.reset(ctx);
                } else {
                    view.filter = self.filter_text.clone();
                    self.navigate_view(ctx, view);
                }
                return true;
            }
            Msg::Sort(column) => {
                let mut view = ctx.props().view.clone();
                if let Some(order) = columns::next_order(&view.order_by, &column) {
                    view.order_by = order;
                    self.navigate_view(ctx, view);
                }
                return false;
            }
            Msg::GroupBy(key) => {
                let mut view = ctx.props().view.clone();
                view.group_by = key;
                self.navigate_view(ctx, view);
                return false;
            }
            Msg::OpenGroup(value) => {
                let mut view = ctx.props().view.clone();
                let (kind, key) = view.group_by.split_once('.').unwrap_or(("params", ""));
                let clause = match value {
                    Some(v) => format!("{kind}.{} = {}", quoted(key), literal(&v)),
                    None => format!("{kind}.{} IS NULL", quoted(key)),
                };
                view.filter = and(&view.filter, &clause);
                view.group_by.clear();
                self.navigate_view(ctx, view);
                return false;
            }
            Msg::MetricView(v) => {
                self.metric_view = v;
                self.reset(ctx);
            }
            Msg::ToggleNest => {
                self.nest = !self.nest;
                self.reset(ctx);
            }
            Msg::ToggleColumn(col) => {
                let cols = self.columns.get_or_insert_with(Vec::new);
                if let Some(at) = cols.iter().position(|c| c == &col) {
                    cols.remove(at);
                } else {
                    cols.push(col);
                }
                self.save_columns(ctx);
                if !ctx.props().view.group_by.is_empty() {
                    self.load_groups(ctx);
                }
            }
            Msg::ToggleChooser => {
                self.chooser_open = !self.chooser_open;
                if self.chooser_open && self.keys.is_none() {
                    let ids = vec![ctx.props().experiment_id.to_string()];
                    ctx.link().send_future(async move { Msg::Keys(api::run_keys(&ids).await) });
                }
            }
            Msg::ChooserSearch(s) => self.chooser_search = s,
            Msg::Select(id, on) => {
                if on {
                    self.selected.insert(id);
                } else {
                    self.selected.remove(&id);
                }
            }
            Msg::SelectVisible => {
                let (start, end) = layout::visible_rows(self.scroll_top, self.viewport, self.visual_rows());
                let ids: Vec<String> =
                    (start..end).filter_map(|r| self.run_at(r)).map(|(r, _)| r.info.run_id.clone()).collect();
                self.selected.extend(ids);
            }
            Msg::ClearSelection => self.selected.clear(),
            Msg::Expand(top, run_id) => {
                if self.expanded.remove(&top).is_none() {
                    self.expanded.insert(top, Expansion { children: None });
                    let q = TableQuery {
                        experiment_ids: vec![ctx.props().experiment_id.to_string()],
                        filter: format!("tags.{} = {}", quoted(api::PARENT_TAG), literal(&run_id)),
                        order_by: ctx.props().view.order_by.clone(),
                        offset: 0,
                        limit: 1000,
                        with_ranges: self.metric_view != MetricView::Latest,
                    };
                    let generation = self.generation;
                    ctx.link().send_future(async move {
                        Msg::Children { generation, top, result: api::run_table(&q).await }
                    });
                }
            }
            Msg::Pin(ids) => {
                for id in ids {
                    if let Some(at) = self.pins.iter().position(|p| p == &id) {
                        self.pins.remove(at);
                        self.pinned_runs.retain(|r| r.info.run_id != id);
                    } else {
                        self.pins.push(id);
                    }
                }
                dom::save(&pins_key(&ctx.props().experiment_id), &self.pins);
                self.load_pinned(ctx);
            }
            Msg::Cursor(row) => {
                self.cursor = row;
            }
            Msg::Key(e) => {
                let rows = self.visual_rows();
                if rows == 0 {
                    return false;
                }
                let page = ((self.viewport / ROW_HEIGHT) as usize).saturating_sub(2).max(1);
                let cursor = self.cursor.min(rows - 1);
                let handled = match e.key().as_str() {
                    "ArrowDown" | "j" => {
                        self.cursor = (cursor + 1).min(rows - 1);
                        true
                    }
                    "ArrowUp" | "k" => {
                        self.cursor = cursor.saturating_sub(1);
                        true
                    }
                    "PageDown" => {
                        self.cursor = (cursor + page).min(rows - 1);
                        true
                    }
                    "PageUp" => {
                        self.cursor = cursor.saturating_sub(page);
                        true
                    }
                    "Home" => {
                        self.cursor = 0;
                        true
                    }
                    "End" => {
                        self.cursor = rows - 1;
                        true
                    }
                    "Enter" | "o" => {
                        if let Some((run, _)) = self.run_at(cursor) {
                            dom::navigate(&Route::Run {
                                experiment_id: run.info.experiment_id.clone(),
                                run_id: run.info.run_id.clone(),
                            });
                        }
                        true
                    }
                    " " | "x" => {
                        if let Some((run, _)) = self.run_at(cursor) {
                            let id = run.info.run_id.clone();
                            if !self.selected.remove(&id) {
                                self.selected.insert(id);
                            }
                        }
                        true
                    }
                    "p" => {
                        if let Some((run, _)) = self.run_at(cursor) {
                            let id = run.info.run_id.clone();
                            ctx.link().send_message(Msg::Pin(vec![id]));
                        }
                        true
                    }
                    "ArrowRight" | "ArrowLeft" => {
                        if let Some((run, Slot::Top(i))) = self.run_at(cursor) {
                            let open = self.expanded.contains_key(&i);
                            let has_children = self.child_counts.get(&run.info.run_id).copied().unwrap_or(0) > 0;
                            if has_children && open == (e.key() == "ArrowLeft") {
                                let id = run.info.run_id.clone();
                                ctx.link().send_message(Msg::Expand(i, id));
                            }
                        }
                        true
                    }
                    _ => false,
                };
                if handled {
                    e.prevent_default();
                    self.ensure_cursor_visible();
                }
                return handled;
            }
            Msg::TagForm(form) => self.tag_form = form,
            Msg::UntagForm(form) => self.untag_form = form,
            Msg::ApplyTag => {
                if let Some((key, value)) = self.tag_form.take() {
                    let ids = self.selected_ids();
                    let n = ids.len();
                    ctx.link().send_future(async move {
                        Msg::Done(
                            api::tag_runs(&ids, &[(key.clone(), value)], &[])
                                .await
                                .map(|_| format!("Tagged {n} runs with {key}")),
                        )
                    });
                }
            }
            Msg::ApplyUntag => {
                if let Some(key) = self.untag_form.take() {
                    let ids = self.selected_ids();
                    let n = ids.len();
                    ctx.link().send_future(async move {
                        Msg::Done(
                            api::tag_runs(&ids, &[], std::slice::from_ref(&key))
                                .await
                                .map(|_| format!("Removed {key} from {n} runs")),
                        )
                    });
                }
            }
            Msg::DeleteSelected => {
                let ids = self.selected_ids();
                if !dom::confirm(&format!("Delete {} runs? They can be restored with the MLflow client.", ids.len())) {
                    return false;
                }
                ctx.link().send_future(async move {
                    let n = ids.len();
                    for id in &ids {
                        if let Err(e) = api::delete_run(id).await {
                            return Msg::Done(Err(e));
                        }
                    }
                    Msg::Done(Ok(format!("Deleted {n} runs")))
                });
            }
            Msg::Compare => {
                dom::navigate(&Route::Compare { runs: self.selected_ids() });
                return false;
            }
            Msg::Done(result) => {
                match result {
                    Ok(notice) => {
                        self.notice = Some(notice);
                        self.action_error = None;
                    }
                    Err(e) => self.action_error = Some(e),
                }
                self.selected.clear();
                self.reset(ctx);
                ctx.props().on_change.emit(());
            }
        }
        true
    }

    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        if first_render {
            ctx.link().send_message(Msg::Scrolled);
        }
        if self.timing_pending && self.has_data() {
            self.timing_pending = false;
            record_timing("tableLoadMs", dom::now_ms() - self.query_started);
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let props = ctx.props();
        let cols = self.columns.clone().unwrap_or_default();
        let template = Self::grid_template(&cols);
        let grouping = !props.view.group_by.is_empty();

        let on_filter_key = link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::ApplyFilter));
        let filter_box = html! {
            <div class="filter">
                <input class={classes!("filter-input", self.filter_error.is_some().then_some("invalid"))}
                    type="search" spellcheck="false" aria-label="Filter runs"
                    placeholder="metrics.loss < 0.5 AND params.optimizer = 'adam'   (Enter to apply)"
                    value={self.filter_text.clone()}
                    oninput={link.callback(|e: InputEvent| Msg::FilterInput(input_text(&e)))}
                    onkeydown={on_filter_key} />
                <button onclick={link.callback(|_| Msg::ApplyFilter)} disabled={self.filter_error.is_some()}>{ "Apply" }</button>
                if let Some(err) = &self.filter_error {
                    <div class="inline-error" role="alert">{ err }</div>
                }
            </div>
        };

        let group_options = {
            let mut opts = vec![("".to_string(), "No grouping".to_string())];
            if let Some(keys) = &self.keys {
                opts.extend(keys.params.iter().map(|k| (format!("params.{k}"), format!("param: {k}"))));
                opts.extend(
                    keys.tags
                        .iter()
                        .filter(|k| !k.starts_with("mlflow."))
                        .map(|k| (format!("tags.{k}"), format!("tag: {k}"))),
                );
            } else {
                opts.extend(cols.iter().filter_map(|c| match c {
                    Column::Param(k) => Some((format!("params.{k}"), format!("param: {k}"))),
                    Column::Tag(k) => Some((format!("tags.{k}"), format!("tag: {k}"))),
                    _ => None,
                }));
            }
            if !props.view.group_by.is_empty() && !opts.iter().any(|(v, _)| v == &props.view.group_by) {
                opts.push((props.view.group_by.clone(), props.view.group_by.clone()));
            }
            opts
        };
        let toolbar = html! {
            <div class="toolbar">
                <span class="total" data-total={self.total.map(|t| t.to_string()).unwrap_or_default()}>
                    { match self.total { Some(t) if grouping => format!("{t} runs in groups"), Some(t) => format!("{t} runs"), None => "…".into() } }
                </span>
                <label>{ "Metrics " }
                    <select aria-label="Metric value" onchange={link.callback(|e: Event| Msg::MetricView(match input_value(&e).as_str() {
                        "min" => MetricView::Min, "max" => MetricView::Max, _ => MetricView::Latest }))}>
                        <option value="latest" selected={self.metric_view == MetricView::Latest}>{ "latest" }</option>
                        <option value="min" selected={self.metric_view == MetricView::Min}>{ "min" }</option>
                        <option value="max" selected={self.metric_view == MetricView::Max}>{ "max" }</option>
                    </select>
                </label>
                <label>{ "Group by " }
                    <select aria-label="Group by" class="group-by"
                        onfocus={link.batch_callback({ let needs = self.keys.is_none(); move |_: FocusEvent| needs.then_some(Msg::ToggleChooser) })}
                        onchange={link.callback(|e: Event| Msg::GroupBy(input_value(&e)))}>
                        { for group_options.iter().map(|(v, label)| html! {
                            <option value={v.clone()} selected={*v == props.view.group_by}>{ label }</option>
                        }) }
                    </select>
                </label>
                <label class="check" title="Show child runs under their parent (when no filter is set)">
                    <input type="checkbox" checked={self.nest} onchange={link.callback(|_| Msg::ToggleNest)} />{ "Nest child runs" }
                </label>
                <button class="columns-button" onclick={link.callback(|_| Msg::ToggleChooser)} aria-expanded={self.chooser_open.to_string()}>{ "Columns" }</button>
            </div>
        };

        let selection_bar = if self.selected.is_empty() {
            html! {}
        } else {
            let n = self.selected.len();
            html! {
                <div class="selection-bar" role="toolbar" aria-label="Selected runs">
                    <strong>{ format!("{n} selected") }</strong>
                    <button onclick={link.callback(|_| Msg::Compare)} disabled={n < 2}>{ "Compare" }</button>
                    <button class="bulk-tag" onclick={link.callback(|_| Msg::TagForm(Some((String::new(), String::new()))))}>{ "Tag…" }</button>
                    <button onclick={link.callback(|_| Msg::UntagForm(Some(String::new())))}>{ "Untag…" }</button>
                    <button onclick={ let ids = self.selected_ids(); link.callback(move |_| Msg::Pin(ids.clone())) }>{ "Pin / unpin" }</button>
                    <button class="danger" onclick={link.callback(|_| Msg::DeleteSelected)}>{ "Delete" }</button>
                    <button onclick={link.callback(|_| Msg::ClearSelection)}>{ "Clear" }</button>
                    if let Some((key, value)) = &self.tag_form {
                        <span class="inline-form">
                            <input class="tag-key" placeholder="key" value={key.clone()} aria-label="Tag key"
                                oninput={ let v = value.clone(); link.callback(move |e: InputEvent| Msg::TagForm(Some((input_text(&e), v.clone())))) } />
                            <input class="tag-value" placeholder="value" value={value.clone()} aria-label="Tag value"
                                oninput={ let k = key.clone(); link.callback(move |e: InputEvent| Msg::TagForm(Some((k.clone(), input_text(&e))))) }
                                onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::ApplyTag))} />
                            <button class="apply-tag" onclick={link.callback(|_| Msg::ApplyTag)} disabled={key.trim().is_empty()}>{ "Apply" }</button>
                        </span>
                    }
                    if let Some(key) = &self.untag_form {
                        <span class="inline-form">
                            <input placeholder="tag key to remove" value={key.clone()} aria-label="Tag key to remove"
                                oninput={link.callback(|e: InputEvent| Msg::UntagForm(Some(input_text(&e))))}
                                onkeydown={link.batch_callback(|e: KeyboardEvent| (e.key() == "Enter").then_some(Msg::ApplyUntag))} />
                            <button onclick={link.callback(|_| Msg::ApplyUntag)} disabled={key.trim().is_empty()}>{ "Remove" }</button>
                        </span>
                    }
                </div>
            }
        };

        let chooser = if self.chooser_open {
            self.view_chooser(ctx, &cols)
        } else {
            html! {}
        };

        let header = html! {
            <div class="row header" style={format!("grid-template-columns: {template}")} role="row">
                <span class="cell check" role="columnheader">
                    <input type="checkbox" title="Select the rows on screen" aria-label="Select the rows on screen"
                        onchange={link.callback(|e: Event| if input_checked(&e) { Msg::SelectVisible } else { Msg::ClearSelection })} />
                </span>
                { for cols.iter().map(|c| {
                    let sort = columns::sorted_ascending(&props.view.order_by, c);
                    let arrow = match sort { Some(true) => " ▲", Some(false) => " ▼", None => "" };
                    let col = c.clone();
                    let kind = match c { Column::Metric(_) => "metric", Column::Param(_) => "param", Column::Tag(_) => "tag", _ => "attr" };
                    let aria_sort = match sort { Some(true) => "ascending", Some(false) => "descending", None => "none" };
                    html! {
                        <button class={classes!("cell", "head", kind, c.is_number().then_some("num"))} role="columnheader"
                            aria-sort={aria_sort} title={c.id()} onclick={link.callback(move |_| Msg::Sort(col.clone()))}
                            disabled={c.sort_key().is_none()}>
                            { c.title() }{ arrow }
                        </button>
                    }
                }) }
            </div>
        };

        let body = if let Some(err) = &self.error {
            html! { <ErrorBox error={err.clone()} /> }
        } else if grouping {
            self.view_groups(ctx, &cols, &template)
        } else if self.total.is_none() {
            html! { <Loading /> }
        } else if self.total == Some(0) {
            let filtered = !props.view.filter.is_empty();
            html! {
                <Empty title={ if filtered { "No run matches this filter" } else { "No runs in this experiment yet" } }>
                    if !filtered {
                        <p>{ "Log one with the mlflow client:" }</p>
                        <pre>{ format!("import mlflow\nmlflow.set_tracking_uri(\"{}\")\nmlflow.set_experiment(experiment_id=\"{}\")\nwith mlflow.start_run():\n    mlflow.log_metric(\"loss\", 0.5)", origin(), props.experiment_id) }</pre>
                    }
                </Empty>
            }
        } else {
            self.view_rows(ctx, &cols, &template)
        };

        let pinned = if self.pinned_runs.is_empty() || grouping {
            html! {}
        } else {
            html! {
                <div class="pinned" aria-label="Pinned runs">
                    { for self.pinned_runs.iter().map(|run| self.view_row(ctx, run, &cols, &template, None, usize::MAX, true)) }
                </div>
            }
        };
        let total_height = if grouping { 0.0 } else { self.visual_rows() as f64 * ROW_HEIGHT };

        html! {
            <section class="runs" data-ready={self.has_data().to_string()}>
                { filter_box }
                { toolbar }
                { chooser }
                { selection_bar }
                if let Some(n) = &self.notice {
                    <div class="notice" role="status">{ n }</div>
                }
                if let Some(e) = &self.action_error {
                    <ErrorBox error={e.clone()} />
                }
                <div class="table" role="grid" aria-rowcount={self.total.unwrap_or(0).to_string()} tabindex="0" ref={self.scroller.clone()}
                    onscroll={link.callback(|_| Msg::Scrolled)} onkeydown={link.callback(Msg::Key)}>
                    { header }
                    { pinned }
                    if grouping || self.total.unwrap_or(0) == 0 || self.error.is_some() {
                        { body }
                    } else {
                        <div class="rows" style={format!("height: {total_height}px")}>{ body }</div>
                    }
                </div>
            </section>
        }
    }
}

fn input_checked(e: &Event) -> bool {
    e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).is_some_and(|i| i.checked())
}

fn origin() -> String {
    web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
}

impl RunsTable {
    fn view_rows(&self, ctx: &Context<Self>, cols: &[Column], template: &str) -> Html {
        let (start, end) = layout::visible_rows(self.scroll_top, self.viewport, self.visual_rows());
        html! {
            { for (start..end).map(|row| match self.run_at(row) {
                Some((run, slot)) => self.view_row(ctx, run, cols, template, Some(slot), row, false),
                None => html! {
                    <div class="row placeholder" key={format!("p{row}")} style={format!("grid-template-columns: {template}; transform: translateY({}px)", row as f64 * ROW_HEIGHT)}>
                        <span class="cell"></span><span class="cell shimmer"></span>
                    </div>
                },
            }) }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn view_row(
        &self,
        ctx: &Context<Self>,
        run: &Run,
        cols: &[Column],
        template: &str,
        slot: Option<Slot>,
        row: usize,
        pinned_section: bool,
    ) -> Html {
        let link = ctx.link();
        let id = run.info.run_id.clone();
        let selected = self.selected.contains(&id);
        let pinned = self.pins.contains(&id);
        let is_cursor = !pinned_section && row == self.cursor;
        let children = self.child_counts.get(&id).copied().unwrap_or(0);
        let is_child = matches!(slot, Some(Slot::Child { .. }));
        let ranges = self.ranges.get(&id);
        let style = if pinned_section {
            format!("grid-template-columns: {template}")
        } else {
            format!("grid-template-columns: {template}; transform: translateY({}px)", row as f64 * ROW_HEIGHT)
        };
        let class = classes!(
            "row",
            (!pinned_section).then_some("virtual"),
            selected.then_some("selected"),
            is_cursor.then_some("cursor"),
            is_child.then_some("child"),
            pinned.then_some("pinned-row")
        );
        let href = Route::Run { experiment_id: run.info.experiment_id.clone(), run_id: id.clone() }.href();
        let on_select = {
            let id = id.clone();
            link.callback(move |e: Event| Msg::Select(id.clone(), input_checked(&e)))
        };
        // Clicks on the row's own controls keep their meaning; re-rendering
        // for the cursor first would undo a checkbox before its change event.
        let on_click = link.batch_callback(move |e: MouseEvent| {
            let on_control = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "BUTTON" | "A"));
            (!pinned_section && !on_control).then_some(Msg::Cursor(row))
        });
        html! {
            <div {class} {style} key={ if pinned_section { format!("pin-{id}") } else { format!("{id}-{row}") } } role="row"
                data-run={id.clone()} aria-selected={selected.to_string()} onclick={on_click}>
                <span class="cell check"><input type="checkbox" checked={selected} onchange={on_select} aria-label={format!("Select {}", run.name())} /></span>
                { for cols.iter().map(|c| {
                    let text = c.cell(run, self.metric_view, match c { Column::Metric(k) => ranges.and_then(|r| r.get(k)), _ => None });
                    match c {
                        Column::Name => {
                            let expander = match slot {
                                Some(Slot::Top(i)) if children > 0 => {
                                    let open = self.expanded.contains_key(&i);
                                    let id = id.clone();
                                    html! {
                                        <button class="expander" aria-expanded={open.to_string()} title={format!("{children} child runs")}
                                            onclick={link.callback(move |e: MouseEvent| { e.stop_propagation(); Msg::Expand(i, id.clone()) })}>
                                            { if open { "▾" } else { "▸" } }<span class="children">{ children }</span>
                                        </button>
                                    }
                                }
                                _ => html! { <span class="expander-space"></span> },
                            };
                            html! {
                                <span class="cell name">
                                    { expander }
                                    if pinned { <span class="pin" title="Pinned">{ "📌" }</span> }
                                    <a href={href.clone()} title={id.clone()}>{ text }</a>
                                    if run.has_note() { <span class="note-marker" title="Has a note">{ "📝" }</span> }
                                </span>
                            }
                        }
                        Column::Status => html! { <span class={classes!("cell", "status", run.info.status.to_lowercase())}>{ text }</span> },
                        c => html! { <span class={classes!("cell", c.is_number().then_some("num"))} title={text.clone()}>{ text }</span> },
                    }
                }) }
            </div>
        }
    }

    fn view_groups(&self, ctx: &Context<Self>, cols: &[Column], template: &str) -> Html {
        let link = ctx.link();
        match &self.groups {
            None => html! { <Loading /> },
            Some(Err(e)) => html! { <ErrorBox error={e.clone()} /> },
            Some(Ok(groups)) if groups.is_empty() => html! { <Empty title="No runs to group" /> },
            Some(Ok(groups)) => html! {
                <div class="groups">
                { for groups.iter().map(|g| {
                    let value = g.value.clone();
                    html! {
                        <div class="row group" style={format!("grid-template-columns: {template}")} role="row"
                            data-group={g.value.clone().unwrap_or_default()}
                            onclick={link.callback(move |_| Msg::OpenGroup(value.clone()))} title="Show these runs">
                            <span class="cell check">{ "▸" }</span>
                            { for cols.iter().map(|c| match c {
                                Column::Name => html! {
                                    <span class="cell name group-name">
                                        <strong>{ g.value.clone().unwrap_or_else(|| "(not set)".into()) }</strong>
                                        <span class="count">{ format!(" {} runs", g.count) }</span>
                                    </span>
                                },
                                Column::Metric(k) => {
                                    let agg = g.metrics.get(k);
                                    let mean = agg.and_then(|a| a.mean);
                                    let span = agg.map(|a| format!("min {} · max {}", format::opt_number(a.min), format::opt_number(a.max))).unwrap_or_default();
                                    html! { <span class="cell num" title={span.clone()}>{ format::opt_number(mean) }<small class="muted">{ if mean.is_some() { " mean" } else { "" } }</small></span> }
                                }
                                _ => html! { <span class="cell"></span> },
                            }) }
                        </div>
                    }
                }) }
                </div>
            },
        }
    }

    fn view_chooser(&self, ctx: &Context<Self>, cols: &[Column]) -> Html {
        let link = ctx.link();
        let needle = self.chooser_search.to_lowercase();
        let section = |title: &str, items: Vec<Column>| {
            let items: Vec<Column> =
                items.into_iter().filter(|c| needle.is_empty() || c.title().to_lowercase().contains(&needle)).collect();
            if items.is_empty() {
                return html! {};
            }
            html! {
                <fieldset>
                    <legend>{ title.to_string() }</legend>
                    { for items.into_iter().map(|c| {
                        let on = cols.contains(&c);
                        let col = c.clone();
                        html! {
                            <label class="check">
                                <input type="checkbox" checked={on} onchange={link.callback(move |_| Msg::ToggleColumn(col.clone()))} />
                                { c.title() }
                            </label>
                        }
                    }) }
                </fieldset>
            }
        };
        let attrs = vec![Column::Name, Column::Status, Column::Start, Column::Duration, Column::User, Column::Source];
        let body = match &self.keys {
            None => html! { <Loading /> },
            Some(keys) => html! {
                <>
                    { section("Attributes", attrs) }
                    { section("Metrics", keys.metrics.iter().map(|k| Column::Metric(k.clone())).collect()) }
                    { section("Params", keys.params.iter().map(|k| Column::Param(k.clone())).collect()) }
                    { section("Tags", keys.tags.iter().map(|k| Column::Tag(k.clone())).collect()) }
                </>
            },
        };
        html! {
            <div class="chooser" role="dialog" aria-label="Columns">
                <input type="search" placeholder="Search columns" value={self.chooser_search.clone()}
                    oninput={link.callback(|e: InputEvent| Msg::ChooserSearch(input_text(&e)))} />
                { body }
                <button onclick={link.callback(|_| Msg::ToggleChooser)}>{ "Done" }</button>
            </div>
        }
    }
}
