//! The comparison charts: egui_plot on a canvas, run by eframe's web runner
//! inside this Yew page. Yew owns the controls and the data; the egui app
//! reads both from a shared cell each frame and draws. One canvas holds the
//! whole grid, and only charts scrolled into view are drawn.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use almanac_charts::Point;
use almanac_charts::align::{XAxis, align, band};
use almanac_charts::colour::run_colour;
use almanac_charts::smooth::{Smoothing, smooth};
use eframe::egui;
use egui_plot::{FilledArea, Legend, Line, Plot, PlotPoints, Points, VLine};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, Run};

/// Points fetched per run for a chart: about two per pixel column, within
/// what `get-history-bulk-interval` serves per run.
fn points_per_run(canvas: &NodeRef) -> i64 {
    let width = canvas.cast::<web_sys::Element>().map_or(1200.0, |c| c.client_width() as f64);
    // Charts sit two to a row on wide canvases (see `ChartsApp::draw`).
    let chart = if width > 900.0 { width / 2.0 } else { width };
    ((chart * 2.0) as i64).clamp(200, 2500)
}
const CHART_HEIGHT: f32 = 260.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    Lines,
    Scatter,
    Bars,
    Parallel,
}

/// Asks for a metric's points between two steps at full detail (a zoom).
pub type OnZoom = Rc<dyn Fn(String, i64, i64)>;
/// A click on (metric, run id, step): the start of an annotation.
pub type OnClick = Rc<dyn Fn(String, String, i64)>;
/// One run's line in a chart: name, colour, raw points, smoothed points.
type RunLine = (String, [u8; 3], Vec<[f64; 2]>, Vec<[f64; 2]>);

/// What the egui app draws, written by Yew.
pub struct Shared {
    pub view: View,
    pub runs: Vec<(String, String, [u8; 3])>,
    /// Metrics charted, in order.
    pub shown: Vec<String>,
    /// (metric, run id) → points, as fetched (thinned).
    pub series: HashMap<(String, String), Vec<Point>>,
    /// Per metric, the step range the series hold at full detail, if zoomed.
    pub detail: HashMap<String, (i64, i64)>,
    pub x_axis: XAxis,
    pub log_y: bool,
    pub smoothing: Smoothing,
    /// Run id → group value, when grouping.
    pub groups: Option<HashMap<String, String>>,
    /// (metric, step, text) per annotation.
    pub annotations: Vec<(String, String, i64, String)>,
    /// Scatter: x is a param or metric of each run; y a metric.
    pub scatter: (String, String),
    pub bar_metric: String,
    /// Parallel coordinates: the metric on the last axis, and the brushes.
    pub parallel_metric: String,
    pub brushes: Vec<almanac_charts::parallel::Brush>,
    /// Each run's params as logged, and every param key, for the parallel view.
    pub params: HashMap<String, HashMap<String, String>>,
    pub param_keys: Vec<String>,
    /// Per-run latest values and params, for scatter and bars.
    pub latest: HashMap<String, HashMap<String, f64>>,
    pub on_zoom: Option<OnZoom>,
    pub on_click: Option<OnClick>,
    pub ctx: Option<egui::Context>,
    pub frames: u64,
}

impl Shared {
    fn repaint(&self) {
        if let Some(ctx) = &self.ctx {
            ctx.request_repaint();
        }
    }
}

/// The runs the parallel view's brushes keep (all of them without brushes).
fn brushed_runs(s: &Shared) -> std::collections::HashSet<String> {
    use almanac_charts::parallel::{axis, passes};
    if s.brushes.is_empty() {
        return s.runs.iter().map(|r| r.0.clone()).collect();
    }
    let mut axes: Vec<_> = s
        .param_keys
        .iter()
        .map(|k| {
            axis(
                k,
                &s.runs.iter().map(|(id, _, _)| s.params.get(id).and_then(|p| p.get(k)).cloned()).collect::<Vec<_>>(),
            )
        })
        .collect();
    axes.push(axis(
        &s.parallel_metric,
        &s.runs
            .iter()
            .map(|(id, _, _)| s.latest.get(id).and_then(|m| m.get(&s.parallel_metric)).map(|v| v.to_string()))
            .collect::<Vec<_>>(),
    ));
    s.runs.iter().enumerate().filter(|(r, _)| passes(&axes, &s.brushes, *r)).map(|(_, run)| run.0.clone()).collect()
}

fn colour(rgb: [u8; 3], alpha: u8) -> egui::Color32 {
    egui::Color32::from_rgba_unmultiplied(rgb[0], rgb[1], rgb[2], alpha)
}

fn y_of(v: f64, log: bool) -> Option<f64> {
    if !v.is_finite() {
        return None;
    }
    if log { (v > 0.0).then(|| v.log10()) } else { Some(v) }
}

struct ChartsApp {
    shared: Rc<RefCell<Shared>>,
    /// Per metric, the x range last asked for, so a zoom is fetched once.
    asked: HashMap<String, (i64, i64)>,
    /// CPU milliseconds of the last frames' `ui`.
    frame_ms: Vec<f64>,
    ready: bool,
    /// Parallel view: the axis and position where a brush drag began.
    brush_start: Option<(usize, f64)>,
}

impl ChartsApp {
    fn line_chart(&mut self, ui: &mut egui::Ui, metric: &str) {
        let s = self.shared.borrow();
        let log = s.log_y;
        let names: HashMap<&str, &str> = s.runs.iter().map(|(id, name, _)| (id.as_str(), name.as_str())).collect();
        let mut lines: Vec<RunLine> = Vec::new();
        let mut grouped: BTreeMap<String, Vec<Vec<(f64, f64)>>> = BTreeMap::new();
        let kept = brushed_runs(&s);
        for (id, name, rgb) in &s.runs {
            if !kept.contains(id) {
                continue;
            }
            let Some(points) = s.series.get(&(metric.to_string(), id.clone())) else { continue };
            let other = match &s.x_axis {
                XAxis::Metric(m) => s.series.get(&(m.clone(), id.clone())).map(Vec::as_slice),
                _ => None,
            };
            let placed = align(points, &s.x_axis, other);
            let placed: Vec<(f64, f64)> =
                placed.into_iter().filter_map(|(x, y)| y_of(y, log).map(|y| (x, y))).collect();
            if let Some(groups) = &s.groups {
                grouped.entry(groups.get(id).cloned().unwrap_or_else(|| "(not set)".into())).or_default().push(placed);
                continue;
            }
            let smoothed = smooth(&placed, s.smoothing);
            lines.push((
                name.clone(),
                *rgb,
                placed.iter().map(|p| [p.0, p.1]).collect(),
                smoothed.iter().map(|p| [p.0, p.1]).collect(),
            ));
        }
        let smoothing = s.smoothing != Smoothing::None;
        let step_axis = s.x_axis == XAxis::Step;
        let notes: Vec<(i64, String)> = s
            .annotations
            .iter()
            .filter(|a| a.0 == metric)
            .map(|a| (a.2, format!("{}: {}", names.get(a.1.as_str()).unwrap_or(&""), a.3)))
            .collect();
        drop(s);

        let axis_label = match &self.shared.borrow().x_axis {
            XAxis::Step => "step".to_string(),
            XAxis::WallTime => "wall time (ms)".to_string(),
            XAxis::RelativeTime => "seconds since start".to_string(),
            XAxis::Metric(m) => m.clone(),
        };
        ui.label(egui::RichText::new(metric).strong());
        let plot_id = egui::Id::unique(("chart", metric));
        let plot = Plot::new(("chart", metric))
            .id(plot_id)
            .height(CHART_HEIGHT)
            .legend(Legend::default())
            .x_axis_label(axis_label)
            .label_formatter(move |hover| {
                let (name, p) = match hover {
                    egui_plot::HoverPosition::NearDataPoint { plot_name, position, .. } => (*plot_name, *position),
                    egui_plot::HoverPosition::Elsewhere { position } => ("", *position),
                };
                let y = if log { 10f64.powf(p.y) } else { p.y };
                let text = format!("{name}\nx: {}\nvalue: {}", crate::format::number(p.x), crate::format::number(y));
                expose("__almanacChartHover", &text);
                Some(text)
            })
            .y_axis_formatter(
                move |mark, _| if log { format!("1e{:.0}", mark.value) } else { format!("{}", mark.value) },
            );
        let response = plot.show(ui, |plot_ui| {
            for (name, rgb, raw, smooth) in lines {
                if raw.len() <= 2 {
                    // A line needs two points; a run logged once still shows.
                    plot_ui.points(
                        Points::new(name.clone(), PlotPoints::from(raw.clone())).color(colour(rgb, 255)).radius(3.5),
                    );
                }
                if smoothing {
                    plot_ui.line(
                        Line::new(format!("{name} (raw)"), PlotPoints::from(raw))
                            .color(colour(rgb, 60))
                            .width(1.0)
                            .allow_hover(false),
                    );
                    plot_ui.line(Line::new(name, PlotPoints::from(smooth)).color(colour(rgb, 255)).width(1.6));
                } else {
                    plot_ui.line(Line::new(name, PlotPoints::from(raw)).color(colour(rgb, 255)).width(1.4));
                }
            }
            for (group, members) in grouped {
                let b = band(&members);
                let rgb = run_colour(&group);
                let xs: Vec<f64> = b.mean.iter().map(|p| p.0).collect();
                let lo: Vec<f64> = b.min.iter().map(|p| p.1).collect();
                let hi: Vec<f64> = b.max.iter().map(|p| p.1).collect();
                plot_ui.add(FilledArea::new(format!("{group} (min–max)"), &xs, &lo, &hi).fill_color(colour(rgb, 50)));
                let mean: Vec<[f64; 2]> = b.mean.iter().map(|p| [p.0, p.1]).collect();
                plot_ui.line(
                    Line::new(format!("{group} (mean of {})", members.len()), PlotPoints::from(mean))
                        .color(colour(rgb, 255))
                        .width(1.8),
                );
            }
            if step_axis {
                for (step, text) in notes {
                    plot_ui.vline(
                        VLine::new(format!("📌 {text}"), step as f64)
                            .color(egui::Color32::from_rgb(230, 160, 0))
                            .width(1.2),
                    );
                }
            }
            plot_ui.pointer_coordinate()
        });
        let bounds = response.transform.bounds();
        // What the legend hid, for browser tests (egui draws it; the DOM cannot see it).
        let hidden = egui_plot::PlotMemory::load(ui.ctx(), plot_id).map_or(0, |m| m.hidden_items.len());
        expose(&format!("__almanacHidden_{metric}"), &hidden.to_string());
        // Zoomed in on steps: ask for that range at full detail, once.
        if step_axis && !response.response.dragged() {
            let (lo, hi) = (bounds.min()[0].floor() as i64, bounds.max()[0].ceil() as i64);
            let s = self.shared.borrow();
            let whole = s
                .series
                .iter()
                .filter(|((m, _), _)| m == metric)
                .flat_map(|(_, pts)| pts.first().zip(pts.last()).map(|(a, b)| (a.step, b.step)))
                .fold(None, |acc: Option<(i64, i64)>, (a, b)| Some(acc.map_or((a, b), |(x, y)| (x.min(a), y.max(b)))));
            let zoomed = whole.is_some_and(|(a, b)| hi > lo && ((hi - lo) as f64) < 0.5 * (b - a).max(1) as f64);
            let asked = self.asked.get(metric).copied();
            if zoomed
                && asked != Some((lo, hi))
                && s.detail.get(metric) != Some(&(lo, hi))
                && let Some(on_zoom) = s.on_zoom.clone()
            {
                self.asked.insert(metric.to_string(), (lo, hi));
                drop(s);
                on_zoom(metric.to_string(), lo, hi);
            }
        }
        if response.response.clicked()
            && let Some(at) = response.inner
        {
            let s = self.shared.borrow();
            // The run whose point lies nearest the click, in screen terms.
            let (w, h) = (bounds.width().max(1e-9), bounds.height().max(1e-9));
            let nearest = s
                .runs
                .iter()
                .filter_map(|(id, _, _)| s.series.get(&(metric.to_string(), id.clone())).map(|pts| (id, pts)))
                .flat_map(|(id, pts)| {
                    pts.iter().filter_map(move |p| {
                        y_of(p.value, log)
                            .map(|y| (id, p.step, ((p.step as f64 - at.x) / w).abs() + ((y - at.y) / h).abs()))
                    })
                })
                .min_by(|a, b| a.2.total_cmp(&b.2));
            if let (Some((id, step, _)), Some(on_click)) = (nearest, s.on_click.clone()) {
                let id = id.clone();
                drop(s);
                on_click(metric.to_string(), id, step);
            }
        }
    }

    fn parallel(&mut self, ui: &mut egui::Ui) {
        use almanac_charts::parallel::{Brush, axis, passes};
        let s = self.shared.borrow();
        let metric = s.parallel_metric.clone();
        let mut axes: Vec<almanac_charts::parallel::Axis> = s
            .param_keys
            .iter()
            .map(|k| {
                axis(
                    k,
                    &s.runs
                        .iter()
                        .map(|(id, _, _)| s.params.get(id).and_then(|p| p.get(k)).cloned())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        axes.push(axis(
            &metric,
            &s.runs
                .iter()
                .map(|(id, _, _)| s.latest.get(id).and_then(|m| m.get(&metric)).map(|v| v.to_string()))
                .collect::<Vec<_>>(),
        ));
        let brushes = s.brushes.clone();
        let runs = s.runs.clone();
        drop(s);
        let kept = (0..runs.len()).filter(|&r| passes(&axes, &brushes, r)).count();
        expose("__almanacBrushedRuns", &kept.to_string());
        ui.label(
            egui::RichText::new(format!("params → {metric}: {kept} of {} runs in the brushes", runs.len())).strong(),
        );
        let n = axes.len();
        let response = Plot::new("parallel")
            .height(420.0)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .allow_boxed_zoom(false)
            .allow_double_click_reset(false)
            .show_axes([false, false])
            .show_grid(false)
            .include_x(-0.4)
            .include_x(n as f64 - 0.6)
            .include_y(-0.12)
            .include_y(1.12)
            .show(ui, |plot_ui| {
                for (i, a) in axes.iter().enumerate() {
                    let x = i as f64;
                    plot_ui.line(
                        Line::new(format!("axis {i}"), PlotPoints::from(vec![[x, 0.0], [x, 1.0]]))
                            .color(egui::Color32::GRAY)
                            .allow_hover(false),
                    );
                    plot_ui.text(egui_plot::Text::new(
                        format!("name {i}"),
                        egui_plot::PlotPoint::new(x, 1.08),
                        a.name.clone(),
                    ));
                    plot_ui.text(
                        egui_plot::Text::new(format!("high {i}"), egui_plot::PlotPoint::new(x, 1.02), a.high.clone())
                            .color(egui::Color32::GRAY),
                    );
                    plot_ui.text(
                        egui_plot::Text::new(format!("low {i}"), egui_plot::PlotPoint::new(x, -0.05), a.low.clone())
                            .color(egui::Color32::GRAY),
                    );
                }
                for (r, (_, name, rgb)) in runs.iter().enumerate() {
                    let pts: Vec<[f64; 2]> = axes
                        .iter()
                        .enumerate()
                        .filter_map(|(i, a)| a.positions.get(r).copied().flatten().map(|p| [i as f64, p]))
                        .collect();
                    let alpha = if passes(&axes, &brushes, r) { 255 } else { 25 };
                    plot_ui.line(Line::new(name.clone(), PlotPoints::from(pts)).color(colour(*rgb, alpha)).width(1.5));
                }
                for b in &brushes {
                    let x = b.axis as f64;
                    plot_ui.line(
                        Line::new(format!("brush {}", b.axis), PlotPoints::from(vec![[x, b.from], [x, b.to]]))
                            .color(egui::Color32::from_rgba_unmultiplied(230, 160, 0, 160))
                            .width(9.0)
                            .allow_hover(false),
                    );
                }
                plot_ui.pointer_coordinate()
            });
        // Drag along an axis to brush it; click an axis to clear its brush.
        let at = response.inner;
        let near_axis = |p: egui_plot::PlotPoint| {
            let i = p.x.round();
            ((p.x - i).abs() < 0.25 && i >= 0.0 && (i as usize) < n).then_some(i as usize)
        };
        let mut s = self.shared.borrow_mut();
        if response.response.drag_started() {
            self.brush_start = at.and_then(|p| near_axis(p).map(|i| (i, p.y.clamp(0.0, 1.0))));
        }
        if let (Some((i, from)), Some(p)) = (self.brush_start, at)
            && response.response.dragged()
        {
            s.brushes.retain(|b| b.axis != i);
            s.brushes.push(Brush { axis: i, from, to: p.y.clamp(0.0, 1.0) });
        }
        if response.response.drag_stopped() {
            self.brush_start = None;
        }
        if response.response.clicked()
            && let Some(i) = at.and_then(near_axis)
        {
            s.brushes.retain(|b| b.axis != i);
        }
    }

    fn scatter(&self, ui: &mut egui::Ui) {
        let s = self.shared.borrow();
        let (xk, yk) = s.scatter.clone();
        ui.label(egui::RichText::new(format!("{yk} against {xk}")).strong());
        Plot::new("scatter")
            .height(420.0)
            .legend(Legend::default())
            .x_axis_label(xk.clone())
            .y_axis_label(yk.clone())
            .show(ui, |plot_ui| {
                for (id, name, rgb) in &s.runs {
                    let v = s.latest.get(id);
                    if let (Some(x), Some(y)) = (v.and_then(|v| v.get(&xk)), v.and_then(|v| v.get(&yk))) {
                        plot_ui.points(Points::new(name.clone(), vec![[*x, *y]]).color(colour(*rgb, 255)).radius(5.0));
                    }
                }
            });
    }

    fn bars(&self, ui: &mut egui::Ui) {
        let s = self.shared.borrow();
        let key = s.bar_metric.clone();
        ui.label(egui::RichText::new(format!("{key} by run")).strong());
        Plot::new("bars").height(420.0).legend(Legend::default()).show(ui, |plot_ui| {
            for (i, (id, name, rgb)) in s.runs.iter().enumerate() {
                if let Some(v) = s.latest.get(id).and_then(|v| v.get(&key)) {
                    let bar = egui_plot::Bar::new(i as f64, *v).width(0.7).fill(colour(*rgb, 200));
                    plot_ui.bar_chart(egui_plot::BarChart::new(name.clone(), vec![bar]).color(colour(*rgb, 255)));
                }
            }
        });
    }
}

/// Puts a value on `window` for browser tests: what egui draws is pixels,
/// which a test cannot read as text.
fn expose(name: &str, value: &str) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &name.into(), &value.into());
    }
}

/// Tells browser tests how many frames were painted and how many series are in.
fn report_progress(frames: u64, series: usize) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"__almanacChartFrames".into(), &(frames as f64).into());
        let _ = js_sys::Reflect::set(&w, &"__almanacChartSeries".into(), &(series as f64).into());
    }
}

impl eframe::App for ChartsApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let started = crate::dom::now_ms();
        egui::CentralPanel::default().show(ui, |ui| self.draw(ui));
        // The CPU time of building this frame's charts, for the benchmark.
        self.frame_ms.push(crate::dom::now_ms() - started);
        if self.frame_ms.len() > 400 {
            self.frame_ms.remove(0);
        }
        expose("__almanacChartFrameMs", &serde_json::to_string(&self.frame_ms).unwrap_or_default());
        let mut s = self.shared.borrow_mut();
        s.frames += 1;
        let loaded = s.series.values().filter(|v| !v.is_empty()).count();
        report_progress(s.frames, loaded);
        // The first frame that holds every shown chart's series: "first chart drawn".
        if !self.ready && !s.shown.is_empty() && loaded >= s.runs.len() * s.shown.len() {
            self.ready = true;
            expose("__almanacChartReadyMs", &crate::dom::now_ms().to_string());
        }
    }
}

impl ChartsApp {
    fn draw(&mut self, ui: &mut egui::Ui) {
        let view = self.shared.borrow().view;
        match view {
            View::Scatter => self.scatter(ui),
            View::Parallel => self.parallel(ui),
            View::Bars => self.bars(ui),
            View::Lines => {
                let shown = self.shared.borrow().shown.clone();
                if shown.is_empty() {
                    ui.label("No metric matches. Clear the search to see every chart.");
                    return;
                }
                let row_height = CHART_HEIGHT + 40.0;
                egui::ScrollArea::vertical().auto_shrink(false).show_viewport(ui, |ui, viewport| {
                    let columns = if ui.available_width() > 900.0 { 2 } else { 1 };
                    let rows = shown.len().div_ceil(columns);
                    ui.set_height(rows as f32 * row_height);
                    // Only rows the viewport touches are laid out and drawn.
                    let first = (viewport.min.y / row_height).floor().max(0.0) as usize;
                    let last = ((viewport.max.y / row_height).ceil() as usize).min(rows);
                    let width = ui.available_width();
                    for row in first..last {
                        let top = ui.min_rect().top() + row as f32 * row_height;
                        for col in 0..columns {
                            let Some(metric) = shown.get(row * columns + col) else { continue };
                            let cell = egui::Rect::from_min_size(
                                egui::pos2(ui.min_rect().left() + col as f32 * width / columns as f32, top),
                                egui::vec2(width / columns as f32 - 8.0, row_height),
                            );
                            let metric = metric.clone();
                            ui.scope_builder(egui::UiBuilder::new().max_rect(cell), |ui| self.line_chart(ui, &metric));
                        }
                    }
                });
            }
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    pub runs: Vec<Run>,
}

fn latest_values(runs: &[Run]) -> HashMap<String, HashMap<String, f64>> {
    runs.iter()
        .map(|r| {
            let mut m: HashMap<String, f64> = r.data.metrics.iter().map(|x| (x.key.clone(), x.value)).collect();
            for p in &r.data.params {
                if let Ok(v) = p.value.trim().parse::<f64>() {
                    m.insert(format!("params.{}", p.key), v);
                }
            }
            (r.info.run_id.clone(), m)
        })
        .collect()
}

/// Where an experiment's chart choices are remembered in the browser.
pub fn settings_key(experiment_id: &str) -> String {
    format!("almanac.charts.{experiment_id}")
}

fn runs_settings_key(runs: &[Run]) -> String {
    settings_key(runs.first().map(|r| r.info.experiment_id.as_str()).unwrap_or(""))
}

/// Chart choices, remembered per experiment and kept in saved views.
#[derive(serde::Serialize, serde::Deserialize, Default, Clone, PartialEq)]
pub struct Settings {
    search: String,
    /// Metrics whose charts are switched off.
    #[serde(default)]
    hidden: Vec<String>,
    x_axis: String,
    log_y: bool,
    smoothing: String,
    weight: f64,
    group_by: String,
}

fn x_axis_of(s: &str) -> XAxis {
    match s {
        "wall" => XAxis::WallTime,
        "relative" => XAxis::RelativeTime,
        "" | "step" => XAxis::Step,
        metric => XAxis::Metric(metric.to_string()),
    }
}

fn smoothing_of(kind: &str, weight: f64) -> Smoothing {
    match kind {
        "ema" => Smoothing::Ema(weight),
        "twema" => Smoothing::TimeWeightedEma(weight),
        "avg" => Smoothing::RunningAverage(((weight * 50.0).round() as usize).max(1)),
        _ => Smoothing::None,
    }
}

#[component]
pub fn Charts(props: &ChartsProps) -> Html {
    let canvas = use_node_ref();
    let settings = use_state(|| {
        crate::dom::load::<Settings>(&runs_settings_key(&props.runs))
            .unwrap_or(Settings { weight: 0.6, ..Default::default() })
    });
    let view = use_state(|| View::Lines);
    let shared = use_mut_ref(|| Shared {
        view: View::Lines,
        runs: Vec::new(),
        shown: Vec::new(),
        series: HashMap::new(),
        detail: HashMap::new(),
        x_axis: XAxis::Step,
        log_y: false,
        smoothing: Smoothing::None,
        groups: None,
        annotations: Vec::new(),
        scatter: (String::new(), String::new()),
        bar_metric: String::new(),
        parallel_metric: String::new(),
        brushes: Vec::new(),
        params: HashMap::new(),
        param_keys: Vec::new(),
        latest: HashMap::new(),
        on_zoom: None,
        on_click: None,
        ctx: None,
        frames: 0,
    });
    let clicked = use_state(|| None::<(String, String, i64)>);
    let note = use_state(String::new);
    let reload_notes = use_state(|| 0u32);
    let error = use_state(|| None::<api::ApiError>);

    let mut metrics: Vec<String> =
        props.runs.iter().flat_map(|r| r.data.metrics.iter().map(|m| m.key.clone())).collect();
    metrics.sort();
    metrics.dedup();
    let mut params: Vec<String> = props.runs.iter().flat_map(|r| r.data.params.iter().map(|m| m.key.clone())).collect();
    params.sort();
    params.dedup();
    let needle = settings.search.to_lowercase();
    let shown: Vec<String> = metrics
        .iter()
        .filter(|m| (needle.is_empty() || m.to_lowercase().contains(&needle)) && !settings.hidden.contains(m))
        .cloned()
        .collect();
    let scatter_x = use_state(|| {
        params.first().map(|p| format!("params.{p}")).or_else(|| metrics.first().cloned()).unwrap_or_default()
    });
    let scatter_y = use_state(|| metrics.first().cloned().unwrap_or_default());
    let bar_metric = use_state(|| metrics.first().cloned().unwrap_or_default());

    // Push every choice into the shared cell, and repaint.
    {
        let mut s = shared.borrow_mut();
        s.view = *view;
        s.runs = props
            .runs
            .iter()
            .map(|r| (r.info.run_id.clone(), r.name().to_string(), run_colour(&r.info.run_id)))
            .collect();
        s.shown = shown.clone();
        s.x_axis = x_axis_of(&settings.x_axis);
        s.log_y = settings.log_y;
        s.smoothing = smoothing_of(&settings.smoothing, settings.weight);
        s.groups = (!settings.group_by.is_empty()).then(|| {
            props
                .runs
                .iter()
                .map(|r| (r.info.run_id.clone(), r.param(&settings.group_by).unwrap_or("(not set)").to_string()))
                .collect()
        });
        s.scatter = ((*scatter_x).clone(), (*scatter_y).clone());
        s.bar_metric = (*bar_metric).clone();
        if s.parallel_metric != *bar_metric {
            s.brushes.clear();
        }
        s.parallel_metric = (*bar_metric).clone();
        s.params = props
            .runs
            .iter()
            .map(|r| (r.info.run_id.clone(), r.data.params.iter().map(|p| (p.key.clone(), p.value.clone())).collect()))
            .collect();
        s.param_keys = params.iter().take(8).cloned().collect();
        s.latest = latest_values(&props.runs);
        s.repaint();
    }
    crate::dom::save(&runs_settings_key(&props.runs), &*settings);

    // Start the egui runner on the canvas once; destroy it on unmount.
    {
        let (canvas, shared) = (canvas.clone(), shared.clone());
        use_effect_with((), move |_| {
            let runner = eframe::WebRunner::new();
            if let Some(el) = canvas.cast::<web_sys::HtmlCanvasElement>() {
                let (runner, shared) = (runner.clone(), shared.clone());
                spawn_local(async move {
                    let creator: eframe::AppCreator<'static> = Box::new(move |cc| {
                        shared.borrow_mut().ctx = Some(cc.egui_ctx.clone());
                        Ok(Box::new(ChartsApp {
                            shared,
                            asked: HashMap::new(),
                            frame_ms: Vec::new(),
                            ready: false,
                            brush_start: None,
                        }))
                    });
                    if let Err(e) = runner.start(el, eframe::WebOptions::default(), creator).await {
                        web_sys::console::error_1(&e);
                    }
                });
            }
            move || runner.destroy()
        });
    }

    // Fetch every shown metric's series (and the x-axis metric's) for all runs.
    {
        let shared = shared.clone();
        let run_ids: Vec<String> = props.runs.iter().map(|r| r.info.run_id.clone()).collect();
        let mut wanted = shown.clone();
        if let XAxis::Metric(m) = x_axis_of(&settings.x_axis) {
            wanted.push(m);
        }
        let error = error.clone();
        let canvas = canvas.clone();
        use_effect_with((run_ids, wanted), move |(run_ids, wanted)| {
            let (run_ids, wanted) = (run_ids.clone(), wanted.clone());
            let per_run = points_per_run(&canvas);
            spawn_local(async move {
                for metric in wanted {
                    if run_ids.iter().all(|id| shared.borrow().series.contains_key(&(metric.clone(), id.clone()))) {
                        continue;
                    }
                    for chunk in run_ids.chunks(100) {
                        match api::history_bulk(chunk, &metric, None, per_run).await {
                            Ok(points) => {
                                let mut s = shared.borrow_mut();
                                for id in chunk {
                                    s.series.insert((metric.clone(), id.clone()), Vec::new());
                                }
                                for (id, p) in points {
                                    s.series.entry((metric.clone(), id)).or_default().push(p);
                                }
                                s.repaint();
                            }
                            Err(e) => error.set(Some(e)),
                        }
                    }
                }
            });
        });
    }

    // Annotations of these runs, drawn as markers.
    {
        let shared = shared.clone();
        let run_ids: Vec<String> = props.runs.iter().map(|r| r.info.run_id.clone()).collect();
        use_effect_with((run_ids, *reload_notes), move |(run_ids, _)| {
            let run_ids = run_ids.clone();
            spawn_local(async move {
                if let Ok(notes) = api::annotations(&run_ids).await {
                    let mut s = shared.borrow_mut();
                    s.annotations = notes.into_iter().map(|a| (a.metric_key, a.run_id, a.step, a.text)).collect();
                    s.repaint();
                }
            });
        });
    }

    // Zoom refinement and click-to-annotate, called from the egui app.
    {
        let mut s = shared.borrow_mut();
        let run_ids: Vec<String> = props.runs.iter().map(|r| r.info.run_id.clone()).collect();
        let weak = shared.clone();
        let canvas = canvas.clone();
        s.on_zoom = Some(Rc::new(move |metric: String, lo: i64, hi: i64| {
            let (shared, run_ids) = (weak.clone(), run_ids.clone());
            let per_run = points_per_run(&canvas);
            spawn_local(async move {
                for chunk in run_ids.chunks(100) {
                    if let Ok(points) = api::history_bulk(chunk, &metric, Some((lo, hi)), per_run).await {
                        let mut s = shared.borrow_mut();
                        let mut fresh: HashMap<String, Vec<Point>> = HashMap::new();
                        for (id, p) in points {
                            fresh.entry(id).or_default().push(p);
                        }
                        // Detail inside the range, the thinned series outside it.
                        for id in chunk {
                            let key = (metric.clone(), id.clone());
                            let mut merged: Vec<Point> = s
                                .series
                                .get(&key)
                                .map(|v| v.iter().filter(|p| p.step < lo || p.step > hi).copied().collect())
                                .unwrap_or_default();
                            merged.extend(fresh.remove(id).unwrap_or_default());
                            merged.sort_by_key(|p| (p.step, p.timestamp));
                            s.series.insert(key, merged);
                        }
                        s.detail.insert(metric.clone(), (lo, hi));
                        s.repaint();
                    }
                }
            });
        }));
        let clicked = clicked.clone();
        s.on_click = Some(Rc::new(move |metric, run, step| clicked.set(Some((metric, run, step)))));
    }

    let set = |f: fn(&mut Settings, String)| {
        let settings = settings.clone();
        Callback::from(move |e: Event| {
            let mut next = (*settings).clone();
            f(&mut next, crate::widgets::input_value(&e));
            settings.set(next);
        })
    };
    let tab = |v: View, label: &str| {
        let view = view.clone();
        let active = *view == v;
        html! { <button class={classes!("tab", active.then_some("active"))} onclick={move |_| view.set(v)}>{ label.to_string() }</button> }
    };
    let add_note = {
        let (clicked, note, reload_notes, error) = (clicked.clone(), note.clone(), reload_notes.clone(), error.clone());
        Callback::from(move |_| {
            let Some((metric, run, step)) = (*clicked).clone() else { return };
            let author = crate::dom::load::<String>("almanac.author").unwrap_or_else(|| "me".into());
            let text = (*note).clone();
            let (clicked, note, reload_notes, error) =
                (clicked.clone(), note.clone(), reload_notes.clone(), error.clone());
            spawn_local(async move {
                match api::annotate(&run, &metric, step, &text, &author).await {
                    Ok(()) => {
                        clicked.set(None);
                        note.set(String::new());
                        reload_notes.set(*reload_notes + 1);
                    }
                    Err(e) => error.set(Some(e)),
                }
            });
        })
    };
    let names: HashMap<String, String> =
        props.runs.iter().map(|r| (r.info.run_id.clone(), r.name().to_string())).collect();
    let lines = *view == View::Lines;
    html! {
        <div class="charts">
            <div class="toolbar chart-controls">
                { tab(View::Lines, "Metric charts") }{ tab(View::Scatter, "Scatter") }{ tab(View::Bars, "Bars") }{ tab(View::Parallel, "Parallel coordinates") }
                if lines {
                    <input type="search" class="metric-search" placeholder="Search metrics" value={settings.search.clone()}
                        oninput={ let s = settings.clone(); move |e: InputEvent| { let mut n = (*s).clone(); n.search = crate::widgets::input_text(&e); s.set(n) } } />
                    <details class="chart-picker">
                        <summary>{ format!("Charts ({} of {})", shown.len(), metrics.len()) }</summary>
                        <div class="picker-list">
                        { for metrics.iter().map(|m| {
                            let on = !settings.hidden.contains(m);
                            let (settings, m2) = (settings.clone(), m.clone());
                            html! {
                                <label class="check">
                                    <input type="checkbox" checked={on} data-metric={m.clone()} onchange={move |_| {
                                        let mut n = (*settings).clone();
                                        if let Some(i) = n.hidden.iter().position(|h| *h == m2) { n.hidden.remove(i); } else { n.hidden.push(m2.clone()); }
                                        settings.set(n);
                                    }} />{ m }
                                </label>
                            }
                        }) }
                        </div>
                    </details>
                    <label>{ "x " }
                        <select class="x-axis" onchange={set(|s, v| s.x_axis = v)}>
                            <option value="step" selected={settings.x_axis.is_empty() || settings.x_axis == "step"}>{ "step" }</option>
                            <option value="wall" selected={settings.x_axis == "wall"}>{ "wall time" }</option>
                            <option value="relative" selected={settings.x_axis == "relative"}>{ "relative time" }</option>
                            { for metrics.iter().map(|m| html! { <option value={m.clone()} selected={settings.x_axis == *m}>{ format!("metric: {m}") }</option> }) }
                        </select>
                    </label>
                    <label class="check"><input type="checkbox" class="log-y" checked={settings.log_y}
                        onchange={ let s = settings.clone(); move |_| { let mut n = (*s).clone(); n.log_y = !n.log_y; s.set(n) } } />{ "log y" }</label>
                    <label>{ "smoothing " }
                        <select class="smoothing" onchange={set(|s, v| s.smoothing = v)}>
                            <option value="" selected={settings.smoothing.is_empty()}>{ "none" }</option>
                            <option value="ema" selected={settings.smoothing == "ema"}>{ "EMA" }</option>
                            <option value="twema" selected={settings.smoothing == "twema"}>{ "time-weighted EMA" }</option>
                            <option value="avg" selected={settings.smoothing == "avg"}>{ "running average" }</option>
                        </select>
                    </label>
                    <input type="range" min="0" max="0.99" step="0.01" value={settings.weight.to_string()} aria-label="Smoothing weight"
                        onchange={set(|s, v| s.weight = v.parse().unwrap_or(0.6))} />
                    <label>{ "group by " }
                        <select class="chart-group" onchange={set(|s, v| s.group_by = v)}>
                            <option value="" selected={settings.group_by.is_empty()}>{ "none" }</option>
                            { for params.iter().map(|p| html! { <option value={p.clone()} selected={settings.group_by == *p}>{ p }</option> }) }
                        </select>
                    </label>
                } else if *view == View::Scatter {
                    <label>{ "x " }<select onchange={ let s = scatter_x.clone(); move |e: Event| s.set(crate::widgets::input_value(&e)) }>
                        { for params.iter().map(|p| format!("params.{p}")).chain(metrics.iter().cloned()).map(|k| html! { <option value={k.clone()} selected={*scatter_x == k}>{ k.clone() }</option> }) }
                    </select></label>
                    <label>{ "y " }<select onchange={ let s = scatter_y.clone(); move |e: Event| s.set(crate::widgets::input_value(&e)) }>
                        { for metrics.iter().map(|k| html! { <option value={k.clone()} selected={*scatter_y == *k}>{ k.clone() }</option> }) }
                    </select></label>
                } else {
                    <label>{ "metric " }<select class="bar-metric" onchange={ let s = bar_metric.clone(); move |e: Event| s.set(crate::widgets::input_value(&e)) }>
                        { for metrics.iter().map(|k| html! { <option value={k.clone()} selected={*bar_metric == *k}>{ k.clone() }</option> }) }
                    </select></label>
                }
            </div>
            if let Some(e) = &*error { <crate::widgets::ErrorBox error={e.clone()} /> }
            if let Some((metric, run, step)) = &*clicked {
                <div class="inline-form chart-annotation">
                    { format!("Annotate {} of {} at step {step}: ", metric, names.get(run).cloned().unwrap_or_default()) }
                    <input class="chart-note" value={(*note).clone()} placeholder="what happened here" aria-label="Annotation"
                        oninput={ let n = note.clone(); move |e: InputEvent| n.set(crate::widgets::input_text(&e)) } />
                    <button onclick={add_note} disabled={note.trim().is_empty()}>{ "Annotate" }</button>
                    <button onclick={ let c = clicked.clone(); move |_| c.set(None) }>{ "Cancel" }</button>
                </div>
            }
            <div class="legend-hint muted">{ "Drag to pan, scroll to zoom, double-click to reset; click a legend entry to hide a run; click a point to annotate it." }</div>
            <canvas ref={canvas} class="charts-canvas"></canvas>
        </div>
    }
}
