//! Traces: MLflow 3's record of one request to an LLM app. The client sends
//! the record when the trace ends and uploads the spans as `traces.json`
//! to the artifact folder this names in the `mlflow.artifactLocation` tag.

use almanac_core::Error;
use almanac_core::model::Tag;
use almanac_core::op::Op;
use almanac_core::search::{Target, parse_filter, parse_order_by};
use almanac_core::trace::{self, TraceInfo};

use crate::paging::{self, Page};
use crate::{App, Result};

/// The most traces one search page returns.
pub const MAX_TRACES_PAGE: i64 = 500;
/// The most traces one delete request removes.
pub const MAX_TRACES_DELETE: i64 = 10_000;

#[derive(Debug, Clone, Default)]
pub struct SearchTraces {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub order_by: Vec<String>,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

/// Which traces `delete_traces` removes: these ids, or the oldest ones
/// up to a time.
#[derive(Debug, Clone)]
pub enum TraceSelection {
    Ids(Vec<String>),
    OlderThan { max_timestamp_ms: i64, max_traces: i64 },
}

impl App {
    /// Records a trace the client finished. Its spans go to the folder named
    /// by the `mlflow.artifactLocation` tag of the answer.
    pub fn start_trace(&self, mut info: TraceInfo) -> Result<TraceInfo> {
        trace::fit_trace_tags(&mut info);
        trace::validate_trace(&info)?;
        let experiment = self.experiment(&info.experiment_id)?;
        let location =
            format!("{}/traces/{}/artifacts", experiment.artifact_location.trim_end_matches('/'), info.trace_id);
        info.tags.retain(|t| t.key != trace::ARTIFACT_LOCATION_TAG);
        info.tags.push(Tag { key: trace::ARTIFACT_LOCATION_TAG.into(), value: location });
        info.experiment_id = experiment.experiment_id;
        let trace_id = info.trace_id.clone();
        self.store().write(&self.ctx(), Op::PutTrace { info })?;
        self.trace_info(&trace_id)
    }

    pub fn trace_info(&self, trace_id: &str) -> Result<TraceInfo> {
        trace::validate_trace_id(trace_id)?;
        self.store()
            .trace(trace_id)?
            .ok_or_else(|| Error::not_found(format!("Trace with id={trace_id} not found.")).into())
    }

    /// Where a trace's `traces.json` lives among the artifacts (its
    /// `mlflow.artifactLocation` folder); `None` for a record without one.
    pub fn spans_path(&self, info: &TraceInfo) -> Result<Option<String>> {
        match info.tags.iter().find(|t| t.key == trace::ARTIFACT_LOCATION_TAG) {
            Some(location) => Ok(Some(self.artifact_under(&location.value, trace::SPANS_FILE)?)),
            None => Ok(None),
        }
    }

    /// A trace's record and its spans, the `traces.json` the client
    /// uploaded (`None` while it has not: a trace in progress).
    pub fn trace_with_spans(&self, trace_id: &str) -> Result<(TraceInfo, Option<Vec<u8>>)> {
        use std::io::Read;
        /// Spans beyond this are refused rather than read into memory.
        const MAX_SPANS_BYTES: u64 = 64 << 20;
        let info = self.trace_info(trace_id)?;
        let Some(path) = self.spans_path(&info)? else {
            return Ok((info, None));
        };
        let (file, size) = match self.open_artifact(&path) {
            Ok(opened) => opened,
            Err(e) if e.code == crate::ErrorCode::ResourceDoesNotExist => return Ok((info, None)),
            Err(e) => return Err(e),
        };
        if size > MAX_SPANS_BYTES {
            return Err(Error::invalid(format!(
                "The spans of trace {trace_id} take {size} bytes, more than {MAX_SPANS_BYTES}; download traces.json instead"
            ))
            .into());
        }
        let mut bytes = Vec::with_capacity(size as usize);
        file.take(MAX_SPANS_BYTES).read_to_end(&mut bytes).map_err(|e| crate::ApiError {
            code: crate::ErrorCode::InternalError,
            message: format!("cannot read spans: {e}"),
        })?;
        Ok((info, Some(bytes)))
    }

    pub fn search_traces(&self, req: &SearchTraces) -> Result<Page<TraceInfo>> {
        if req.experiment_ids.is_empty() {
            return Err(Error::invalid("Searching traces needs at least one experiment id in 'locations'").into());
        }
        let limit = req.max_results.filter(|m| *m > 0).unwrap_or(100);
        if limit > MAX_TRACES_PAGE {
            return Err(Error::invalid(format!("max_results must be at most {MAX_TRACES_PAGE}, got {limit}")).into());
        }
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_filter(&req.filter, Target::Traces)?;
        let order = req.order_by.iter().map(|o| parse_order_by(o, Target::Traces)).collect::<Result<Vec<_>, _>>()?;
        for id in &req.experiment_ids {
            self.experiment(id)?;
        }
        let mut traces = self.store().traces(&req.experiment_ids)?;
        if let Some(f) = &filter {
            traces.retain(|t| trace::matches(f, t));
        }
        trace::sort(&mut traces, &order);
        let total = traces.len() as i64;
        let items: Vec<TraceInfo> = traces.into_iter().skip(offset as usize).take(limit as usize).collect();
        let more = offset + (items.len() as i64) < total;
        Ok(paging::page(items, offset, more))
    }

    pub fn set_trace_tag(&self, trace_id: &str, key: &str, value: &str) -> Result<()> {
        trace::validate_trace_id(trace_id)?;
        let mut value = value.to_string();
        almanac_core::validation::truncate_chars(&mut value, trace::MAX_TRACE_TAG_VALUE_CHARS);
        trace::validate_trace_tag(key, &value)?;
        self.store().write(&self.ctx(), Op::SetTraceTag { trace_id: trace_id.into(), key: key.into(), value })?;
        Ok(())
    }

    pub fn delete_trace_tag(&self, trace_id: &str, key: &str) -> Result<()> {
        trace::validate_trace_id(trace_id)?;
        self.store().write(&self.ctx(), Op::DeleteTraceTag { trace_id: trace_id.into(), key: key.into() })?;
        Ok(())
    }

    /// Deletes traces of one experiment, in one transaction. Returns how
    /// many were deleted; ids that name no trace of the experiment are
    /// skipped, as MLflow does.
    pub fn delete_traces(&self, experiment_id: &str, selection: TraceSelection) -> Result<usize> {
        let experiment = self.experiment(experiment_id)?;
        let live = self.store().traces(std::slice::from_ref(&experiment.experiment_id))?;
        let doomed: Vec<String> = match selection {
            TraceSelection::Ids(ids) => {
                if ids.len() as i64 > MAX_TRACES_DELETE {
                    return Err(Error::invalid(format!("Delete at most {MAX_TRACES_DELETE} traces at a time")).into());
                }
                let ids: std::collections::HashSet<String> = ids.into_iter().collect();
                live.into_iter().filter(|t| ids.contains(&t.trace_id)).map(|t| t.trace_id).collect()
            }
            TraceSelection::OlderThan { max_timestamp_ms, max_traces } => {
                if max_traces <= 0 {
                    return Err(Error::invalid(format!("max_traces must be positive, got {max_traces}")).into());
                }
                let mut old: Vec<TraceInfo> =
                    live.into_iter().filter(|t| t.request_time_ms <= max_timestamp_ms).collect();
                old.sort_by_key(|t| (t.request_time_ms, t.trace_id.clone()));
                old.into_iter().take(max_traces.min(MAX_TRACES_DELETE) as usize).map(|t| t.trace_id).collect()
            }
        };
        let ops: Vec<Op> = doomed.iter().map(|id| Op::DeleteTrace { trace_id: id.clone() }).collect();
        if !ops.is_empty() {
            self.store().write_all(&self.ctx(), ops)?;
        }
        Ok(doomed.len())
    }
}

#[cfg(test)]
mod tests {
    use almanac_core::ErrorCode;

    use super::*;
    use crate::{FixedClock, SeededEntropy};

    fn info(id: &str, experiment: &str, time: i64) -> TraceInfo {
        TraceInfo {
            trace_id: id.into(),
            experiment_id: experiment.into(),
            client_request_id: None,
            request_time_ms: time,
            execution_duration_ms: Some(5),
            state: "OK".into(),
            request_preview: Some("{\"q\": 1}".into()),
            response_preview: None,
            trace_metadata: vec![Tag { key: "mlflow.trace_schema.version".into(), value: "3".into() }],
            tags: vec![Tag { key: trace::NAME_TAG.into(), value: format!("name-{id}") }],
        }
    }

    #[test]
    fn traces_round_trip_search_tag_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path(), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(1))).unwrap();
        let stored = app.start_trace(info("tr-1", "0", 100)).unwrap();
        assert_eq!(stored.tag(trace::ARTIFACT_LOCATION_TAG), Some("mlflow-artifacts:/0/traces/tr-1/artifacts"));
        app.start_trace(info("tr-2", "0", 200)).unwrap();
        app.start_trace(info("tr-3", "0", 300)).unwrap();

        for (bad, code) in [
            (info("tr-x", "404", 1), ErrorCode::ResourceDoesNotExist),
            (info("../x", "0", 1), ErrorCode::InvalidParameterValue),
            (TraceInfo { state: "NOPE".into(), ..info("tr-y", "0", 1) }, ErrorCode::InvalidParameterValue),
        ] {
            assert_eq!(app.start_trace(bad).unwrap_err().code, code);
        }

        let search = |filter: &str, max: i64, token: Option<String>| {
            app.search_traces(&SearchTraces {
                experiment_ids: vec!["0".into()],
                filter: filter.into(),
                order_by: vec![],
                max_results: Some(max),
                page_token: token,
            })
            .unwrap()
        };
        let first = search("", 2, None);
        let ids: Vec<&str> = first.items.iter().map(|t| t.trace_id.as_str()).collect();
        assert_eq!(ids, ["tr-3", "tr-2"]);
        let second = search("", 2, first.next_page_token.clone());
        assert_eq!(second.items.len(), 1);
        assert_eq!(second.next_page_token, None);
        assert_eq!(search("timestamp_ms < 250", 10, None).items.len(), 2);

        app.set_trace_tag("tr-1", "reviewed", "yes").unwrap();
        assert_eq!(search("tags.reviewed = 'yes'", 10, None).items[0].trace_id, "tr-1");
        app.delete_trace_tag("tr-1", "reviewed").unwrap();
        assert_eq!(app.delete_trace_tag("tr-1", "reviewed").unwrap_err().code, ErrorCode::ResourceDoesNotExist);
        assert_eq!(app.set_trace_tag("tr-404", "k", "v").unwrap_err().code, ErrorCode::ResourceDoesNotExist);

        let by_ids = TraceSelection::Ids(vec!["tr-1".into(), "tr-nope".into()]);
        assert_eq!(app.delete_traces("0", by_ids).unwrap(), 1);
        assert_eq!(app.trace_info("tr-1").unwrap_err().code, ErrorCode::ResourceDoesNotExist);
        assert_eq!(
            app.start_trace(info("tr-1", "0", 100)).unwrap_err().code,
            ErrorCode::InvalidParameterValue,
            "a deleted trace's id is not reused"
        );
        let other = app.create_experiment("elsewhere", None, vec![]).unwrap();
        assert_eq!(
            app.start_trace(info("tr-2", &other, 200)).unwrap_err().code,
            ErrorCode::InvalidParameterValue,
            "a trace does not move between experiments"
        );
        let older = TraceSelection::OlderThan { max_timestamp_ms: 1000, max_traces: 1 };
        assert_eq!(app.delete_traces("0", older).unwrap(), 1);
        let left: Vec<String> = search("", 10, None).items.into_iter().map(|t| t.trace_id).collect();
        assert_eq!(left, ["tr-3"], "the oldest went first");
        assert_eq!(
            app.search_traces(&SearchTraces { experiment_ids: vec![], ..Default::default() }).unwrap_err().code,
            ErrorCode::InvalidParameterValue
        );
    }
}
