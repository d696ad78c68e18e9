//! MLflow's validation rules (`mlflow/utils/validation.py`): key shapes,
//! length limits and batch limits. The server checks every request against
//! these before anything is written.

use crate::error::{Error, Result};
use crate::model::{Metric, Param, Tag};

pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
pub const MAX_EXPERIMENT_TAG_KEY_LENGTH: usize = 250;
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20_000;
pub const MAX_METRICS_PER_BATCH: usize = 1000;
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
pub const MAX_DATASETS_PER_BATCH: usize = 1000;
pub const MAX_RESULTS_SEARCH_RUNS: i64 = 50_000;
pub const MAX_RESULTS_SEARCH_EXPERIMENTS: i64 = 50_000;
pub const MAX_RESULTS_GET_METRIC_HISTORY: i64 = 25_000;

const BAD_CHARACTERS: &str = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";

/// What kind of key is checked; it names the key in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Metric,
    Param,
    Tag,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            KeyKind::Metric => "metric",
            KeyKind::Param => "parameter",
            KeyKind::Tag => "tag",
        }
    }
}

/// MLflow's key rule: non-empty, at most 250 characters, only
/// `[A-Za-z0-9_\-. :/]`, and unchanged by path normalization (keys can become
/// file names, so `a/../b` or `/a` must not alias another key).
pub fn validate_key(kind: KeyKind, key: &str) -> Result<()> {
    if key.is_empty() && kind != KeyKind::Tag {
        return Err(Error::invalid(format!("Invalid {} name: ''. {BAD_CHARACTERS}", kind.noun())));
    }
    if !key.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/')) {
        return Err(Error::invalid(format!("Invalid {} name: '{key}'. {BAD_CHARACTERS}", kind.noun())));
    }
    if let Some(normal) = normalize_path(key)
        && (normal != key || normal.starts_with("..") || normal.starts_with('/'))
    {
        return Err(Error::invalid(format!(
            "Invalid {} name: '{key}'. Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to '{normal}'",
            kind.noun()
        )));
    }
    if key.chars().count() > MAX_ENTITY_KEY_LENGTH {
        return Err(Error::invalid(format!(
            "'{}' exceeds the maximum length of {MAX_ENTITY_KEY_LENGTH} characters",
            truncated(key)
        )));
    }
    Ok(())
}

/// `posixpath.normpath` for the cases that matter to keys. `None` when the
/// key is empty (normpath would say ".").
fn normalize_path(key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let absolute = key.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in key.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let body = parts.join("/");
    Some(match (absolute, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".to_string(),
        (false, false) => body,
    })
}

fn truncated(s: &str) -> String {
    if s.chars().count() > 100 { format!("{}...", s.chars().take(100).collect::<String>()) } else { s.to_string() }
}

fn check_length(what: &str, key: &str, value: &str, limit: usize) -> Result<()> {
    let len = value.chars().count();
    if len > limit {
        return Err(Error::invalid(format!(
            "{what} value '{}' had length {len}, which exceeded length limit of {limit} for key '{key}'",
            truncated(value)
        )));
    }
    Ok(())
}

/// Cuts `value` to at most `limit` characters. Returns whether it was cut.
pub fn truncate_chars(value: &mut String, limit: usize) -> bool {
    match value.char_indices().nth(limit) {
        Some((end, _)) => {
            value.truncate(end);
            true
        }
        None => false,
    }
}

/// MLflow cuts a run's param values and tag values that are too long down to
/// their limit, with a warning, instead of refusing them
/// (`MLFLOW_TRUNCATE_LONG_VALUES`, on by default): a script that logs a long
/// value works the same here. Returns how many values were cut.
pub fn fit_run_values(params: &mut [Param], tags: &mut [Tag]) -> usize {
    let params = params.iter_mut().map(|p| truncate_chars(&mut p.value, MAX_PARAM_VAL_LENGTH));
    let tags = tags.iter_mut().map(|t| truncate_chars(&mut t.value, MAX_TAG_VAL_LENGTH));
    params.chain(tags).filter(|&cut| cut).count()
}

pub fn validate_param(param: &Param) -> Result<()> {
    validate_key(KeyKind::Param, &param.key)?;
    check_length("Param", &param.key, &param.value, MAX_PARAM_VAL_LENGTH)
}

pub fn validate_run_tag(tag: &Tag) -> Result<()> {
    if tag.key.is_empty() {
        return Err(Error::invalid("Missing value for required parameter 'key'."));
    }
    validate_key(KeyKind::Tag, &tag.key)?;
    check_length("Tag", &tag.key, &tag.value, MAX_TAG_VAL_LENGTH)
}

pub fn validate_experiment_tag(tag: &Tag) -> Result<()> {
    if tag.key.is_empty() {
        return Err(Error::invalid("Missing value for required parameter 'key'."));
    }
    validate_key(KeyKind::Tag, &tag.key)?;
    if tag.key.chars().count() > MAX_EXPERIMENT_TAG_KEY_LENGTH {
        return Err(Error::invalid(format!(
            "Experiment tag key '{}' exceeds {MAX_EXPERIMENT_TAG_KEY_LENGTH} characters",
            truncated(&tag.key)
        )));
    }
    check_length("Experiment tag", &tag.key, &tag.value, MAX_EXPERIMENT_TAG_VAL_LENGTH)
}

/// `runs:/<run id>/<path>` as (run id, path); the path may be empty.
pub fn runs_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("runs:/")?.trim_start_matches('/');
    let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
    (!run_id.is_empty()).then_some((run_id, path))
}

/// An experiment's artifact location, as MLflow checks it: not a `runs:/`
/// URI, at most 2048 characters, and (since MLflow 3.17,
/// `store/artifact/host_policy.py`) not a scheme that makes the server
/// connect to a host the URI names: `http`, `https`, `ftp`, `sftp`, `hdfs`,
/// `viewfs`, `r2`, `b2`, `abfss`, or `mlflow-artifacts` with a host.
pub fn validate_artifact_location(location: &str) -> Result<()> {
    let location = location.trim_start();
    if location.starts_with("runs:") {
        return Err(Error::invalid(format!("Artifact location cannot be a runs:/ URI. Given: '{location}'")));
    }
    if location.chars().count() > 2048 {
        return Err(Error::invalid("Artifact location exceeds 2048 characters"));
    }
    let Some((scheme, rest)) = location.split_once(':') else { return Ok(()) };
    let scheme = scheme.to_ascii_lowercase();
    let names_a_host = match scheme.as_str() {
        "http" | "https" | "ftp" | "sftp" | "hdfs" | "viewfs" | "r2" | "b2" | "abfss" => true,
        "mlflow-artifacts" => rest.strip_prefix("//").is_some_and(|after| !after.starts_with('/')),
        _ => false,
    };
    if names_a_host {
        return Err(Error::invalid(format!(
            "'artifact_location' cannot use the '{scheme}' scheme: the '{scheme}' scheme addresses a host other than the tracking server's configured artifact storage, so the server would connect to the host named in the URI."
        )));
    }
    Ok(())
}

pub fn validate_metric(metric: &Metric) -> Result<()> {
    validate_key(KeyKind::Metric, &metric.key)
}

pub fn validate_experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(format!(
            "Invalid experiment name: '{name}'. Experiment name must be a non-empty string."
        )));
    }
    if name.chars().count() > MAX_EXPERIMENT_NAME_LENGTH {
        return Err(Error::invalid(format!(
            "Experiment name '{}' exceeds the maximum length of {MAX_EXPERIMENT_NAME_LENGTH} characters",
            truncated(name)
        )));
    }
    Ok(())
}

pub fn validate_run_name(name: &str) -> Result<()> {
    check_length("Run name", "run_name", name, MAX_TAG_VAL_LENGTH)
}

/// MLflow's per-request limits on `log-batch`.
pub fn validate_batch(metrics: &[Metric], params: &[Param], tags: &[Tag]) -> Result<()> {
    let too_many = |what: &str, n: usize, limit: usize| {
        Error::invalid(format!(
            "A batch logging request can contain at most {limit} {what}. Got {n} {what}. Please split up {what} across multiple requests and try again."
        ))
    };
    if metrics.len() > MAX_METRICS_PER_BATCH {
        return Err(too_many("metrics", metrics.len(), MAX_METRICS_PER_BATCH));
    }
    if params.len() > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(too_many("params", params.len(), MAX_PARAMS_TAGS_PER_BATCH));
    }
    if tags.len() > MAX_PARAMS_TAGS_PER_BATCH {
        return Err(too_many("tags", tags.len(), MAX_PARAMS_TAGS_PER_BATCH));
    }
    let total = metrics.len() + params.len() + tags.len();
    if total > MAX_ENTITIES_PER_BATCH {
        return Err(too_many("metrics, params, and tags", total, MAX_ENTITIES_PER_BATCH));
    }
    // A batch repeats one key for many points: check each distinct run once.
    let mut previous: Option<&str> = None;
    for m in metrics {
        if previous != Some(m.key.as_str()) {
            validate_metric(m)?;
            previous = Some(&m.key);
        }
    }
    params.iter().try_for_each(validate_param)?;
    tags.iter().try_for_each(validate_run_tag)?;
    // As in MLflow, one batch may name a param key only once, even with equal values.
    let mut seen = std::collections::HashSet::new();
    let duplicates: Vec<&str> =
        params.iter().filter(|p| !seen.insert(p.key.as_str())).map(|p| p.key.as_str()).collect();
    if !duplicates.is_empty() {
        return Err(Error::invalid(format!(
            "Duplicate parameter keys have been submitted: {duplicates:?}. Please ensure the request contains only one param value per param key."
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_uris() {
        assert_eq!(runs_uri("runs:/abc/model/x"), Some(("abc", "model/x")));
        assert_eq!(runs_uri("runs:///abc"), Some(("abc", "")));
        assert_eq!(runs_uri("runs:/"), None);
        assert_eq!(runs_uri("models:/m-1"), None);
    }

    #[test]
    fn artifact_locations() {
        for (location, ok) in [
            ("s3://bucket/exp", true),
            ("/data/artifacts", true),
            ("file:///data/artifacts", true),
            ("mlflow-artifacts:/exp", true),
            ("mlflow-artifacts:///exp", true),
            ("mlflow-artifacts://other:5000/exp", false),
            ("http://example.com/artifacts", false),
            ("HTTPS://example.com/a", false),
            (" http://example.com/a", false),
            ("ftp:///data", false),
            ("runs:/abc/model", false),
        ] {
            assert_eq!(validate_artifact_location(location).is_ok(), ok, "{location}");
        }
        assert!(validate_artifact_location(&"a".repeat(2049)).is_err());
    }

    #[test]
    fn long_run_values_are_cut_to_their_limit_by_characters() {
        let mut params = vec![
            Param { key: "short".into(), value: "x".into() },
            Param { key: "long".into(), value: "é".repeat(6001) },
        ];
        let mut tags = vec![
            Tag { key: "note".into(), value: "t".repeat(8000) },
            Tag { key: "big".into(), value: "t".repeat(9000) },
        ];
        assert_eq!(fit_run_values(&mut params, &mut tags), 2);
        let lengths: Vec<usize> = params.iter().map(|p| p.value.chars().count()).collect();
        assert_eq!(lengths, [1, 6000]);
        let lengths: Vec<usize> = tags.iter().map(|t| t.value.chars().count()).collect();
        assert_eq!(lengths, [8000, 8000]);
        assert!(params.iter().all(|p| validate_param(p).is_ok()));
    }

    #[test]
    fn keys() {
        let long = "k".repeat(251);
        let cases: &[(&str, bool)] = &[
            ("loss", true),
            ("train/loss", true),
            ("a b:c-d.e_f", true),
            ("", false),
            ("a$b", false),
            ("a/../b", false),
            ("/abs", false),
            ("a//b", false),
            ("./a", false),
            ("a/.", false),
            ("..", false),
            ("naïve", true),
            (&long, false),
        ];
        for (key, ok) in cases {
            assert_eq!(validate_key(KeyKind::Metric, key).is_ok(), *ok, "{key:?}");
        }
    }

    #[test]
    fn lengths() {
        let p = |v: usize| Param { key: "k".into(), value: "v".repeat(v) };
        assert!(validate_param(&p(6000)).is_ok());
        assert!(validate_param(&p(6001)).is_err());
        let t = |v: usize| Tag { key: "k".into(), value: "v".repeat(v) };
        assert!(validate_run_tag(&t(8000)).is_ok());
        assert!(validate_run_tag(&t(8001)).is_err());
        assert!(validate_experiment_tag(&t(20_000)).is_ok());
        assert!(validate_experiment_tag(&t(20_001)).is_err());
    }

    #[test]
    fn batches() {
        let m = |i: usize| Metric {
            key: format!("m{i}"),
            point: crate::model::MetricPoint { value: 1.0, timestamp: 0, step: 0 },
            ..Default::default()
        };
        let metrics: Vec<_> = (0..1001).map(m).collect();
        assert!(validate_batch(&metrics[..1000], &[], &[]).is_ok());
        assert!(validate_batch(&metrics, &[], &[]).is_err());
        let params: Vec<_> = (0..101).map(|i| Param { key: format!("p{i}"), value: "v".into() }).collect();
        assert!(validate_batch(&[], &params[..100], &[]).is_ok());
        assert!(validate_batch(&[], &params, &[]).is_err());
        assert!(validate_batch(&metrics[..901], &params[..100], &[]).is_err(), "total over 1000");
        let dup = [Param { key: "a".into(), value: "1".into() }, Param { key: "a".into(), value: "2".into() }];
        assert!(validate_batch(&[], &dup, &[]).is_err());
        let same = [Param { key: "a".into(), value: "1".into() }, Param { key: "a".into(), value: "1".into() }];
        assert!(validate_batch(&[], &same, &[]).is_err(), "MLflow refuses repeated keys even with equal values");
    }
}

/// MLflow's `validate_path_is_safe` for artifact paths: relative, `/`
/// separated, no `..` segment, no backslash or NUL, no Windows drive, and
/// the same again after every round of percent-decoding, so encoded
/// traversal (`%2e%2e`, `%252e%252e`) is caught too. Returns the path with
/// empty and `.` segments removed.
pub fn artifact_path(path: &str) -> Result<String> {
    fn check(p: &str, original: &str) -> Result<()> {
        let bad = || Error::invalid(format!("Invalid path: {original}"));
        if p.contains('\\') || p.contains('\0') || p.starts_with('/') {
            return Err(bad());
        }
        let bytes = p.as_bytes();
        if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
            return Err(bad());
        }
        if p.split('/').any(|seg| seg == "..") {
            return Err(bad());
        }
        Ok(())
    }
    // Check every level of percent-decoding: a traversal may hide under any
    // number of encodings, and each layer of software may decode one more.
    let mut level = path.to_string();
    for _ in 0..8 {
        check(&level, path)?;
        let next = percent_decode(&level);
        if next == level {
            break;
        }
        level = next;
    }
    Ok(path.split('/').filter(|s| !s.is_empty() && *s != ".").collect::<Vec<_>>().join("/"))
}

/// Percent-decodes once; malformed escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) =
                ((bytes[i + 1] as char).to_digit(16), bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod artifact_path_tests {
    use super::artifact_path;

    #[test]
    fn traversal_in_every_spelling_is_refused() {
        let refused = [
            "..",
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a\\..\\b",
            "C:/x",
            "c:x",
            "%2e%2e/x",
            "%2E%2E%2Fx",
            "a/%2e%2e",
            "%252e%252e/x",
            "..%2fx",
            "%5c..%5cx",
            "a/\0/b",
        ];
        for p in refused {
            assert!(artifact_path(p).is_err(), "{p:?} should be refused");
        }
        let kept = [
            ("model/MLmodel", "model/MLmodel"),
            ("a//b/./c", "a/b/c"),
            ("100% done.txt", "100% done.txt"),
            ("x..y/..z", "x..y/..z"),
            ("", ""),
            ("spaces and ünïcode.txt", "spaces and ünïcode.txt"),
        ];
        for (p, expected) in kept {
            assert_eq!(artifact_path(p).unwrap(), expected, "{p:?}");
        }
    }
}

/// The proxied path of a `mlflow-artifacts:/...` URI, or `None` for
/// locations Almanac does not hold (s3://, file://, ...).
pub fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    // mlflow-artifacts:/p, mlflow-artifacts:///p and mlflow-artifacts://host/p
    let rest = match rest.strip_prefix("//") {
        Some(with_authority) => with_authority.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Some(rest.trim_matches('/').to_string())
}
