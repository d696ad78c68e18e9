//! A request's fields, from a JSON body or a query string, read with
//! MLflow's leniency (int64 as number or string, NaN as "NaN") and its error
//! messages.

use almanac_api::{ApiError, Error};
use almanac_core::model::{Tag, ViewType, float_text};
use std::borrow::Cow;

use serde_json::{Map, Value};

const DOCS_HINT: &str = "See the API docs for more information about request parameters.";

pub struct Input<'a> {
    /// Owned at the top of a request, borrowed for nested messages so that a
    /// 1000-metric batch is not copied field by field.
    fields: Cow<'a, Map<String, Value>>,
    /// Where these fields sit in the request, for messages: "" or "metrics[3].".
    path: Path,
    /// Query strings repeat keys; only there may a scalar arrive as a list.
    from_query: bool,
}

/// Where an `Input` sits in its request. Built into text only for an error
/// message: a 1000-metric batch would otherwise format 1000 paths.
enum Path {
    /// A top-level message, or a nested one: its dotted prefix ("" or "dataset.").
    Prefix(String),
    /// Element `index` of the repeated field named (in full) by the shared prefix.
    Element(std::rc::Rc<str>, usize),
}

fn missing(name: &str) -> ApiError {
    Error::invalid(format!("Missing value for required parameter '{name}'. {DOCS_HINT}")).into()
}

fn wrong_type(name: &str, v: &Value) -> ApiError {
    let kind = match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int",
        Value::Number(_) => "float",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    };
    Error::invalid(format!(
        "Invalid value {v} for parameter '{name}' supplied:  Hint: Value was of type '{kind}'. {DOCS_HINT}"
    ))
    .into()
}

impl<'a> Input<'a> {
    pub fn from_json(body: &[u8]) -> Result<Input<'static>, ApiError> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Input { fields: Cow::Owned(Map::new()), path: Path::Prefix(String::new()), from_query: false });
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::from(Error::new(
                almanac_api::ErrorCode::MalformedRequest,
                format!("Malformed JSON request body: {e}"),
            ))
        })?;
        // Legacy clients double-encode the body as a JSON string; MLflow accepts it.
        let value = match value {
            Value::String(s) => serde_json::from_str(&s).map_err(|e| {
                ApiError::from(Error::new(
                    almanac_api::ErrorCode::MalformedRequest,
                    format!("Malformed JSON request body: {e}"),
                ))
            })?,
            other => other,
        };
        match value {
            Value::Object(fields) => {
                Ok(Input { fields: Cow::Owned(fields), path: Path::Prefix(String::new()), from_query: false })
            }
            Value::Null => {
                Ok(Input { fields: Cow::Owned(Map::new()), path: Path::Prefix(String::new()), from_query: false })
            }
            other => Err(Error::new(
                almanac_api::ErrorCode::MalformedRequest,
                format!("The request body must be a JSON object, not {}", wrong_type("body", &other)),
            )
            .into()),
        }
    }

    /// Query-string fields. A repeated key becomes a list.
    pub fn from_query(query: &str) -> Input<'static> {
        let mut fields = Map::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let v = Value::String(v.into_owned());
            match fields.get_mut(k.as_ref()) {
                Some(Value::Array(items)) => items.push(v),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, v]);
                }
                None => {
                    fields.insert(k.into_owned(), v);
                }
            }
        }
        Input { fields: Cow::Owned(fields), path: Path::Prefix(String::new()), from_query: true }
    }

    /// Path parameters (`/logged-models/{model_id}`) win over body fields.
    pub fn set_path_params(&mut self, params: Vec<(String, String)>) {
        for (k, v) in params {
            self.fields.to_mut().insert(k, Value::String(v));
        }
    }

    fn name(&self, field: &str) -> String {
        match &self.path {
            Path::Prefix(prefix) => format!("{prefix}{field}"),
            Path::Element(array, index) => format!("{array}[{index}].{field}"),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, field: &str) -> Result<Option<String>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            // A query string repeats a scalar only by mistake: take the first, as Flask does.
            Some(Value::Array(items)) if self.from_query && matches!(items.first(), Some(Value::String(_))) => {
                Ok(items.first().and_then(|v| v.as_str()).map(str::to_string))
            }
            Some(v) => Err(wrong_type(&self.name(field), v)),
        }
    }

    pub fn req_str(&self, field: &str) -> Result<String, ApiError> {
        match self.opt_str(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(missing(&self.name(field))),
        }
    }

    /// `run_id`, falling back to the deprecated `run_uuid`.
    pub fn run_id(&self) -> Result<String, ApiError> {
        match self.opt_str("run_id")?.filter(|s| !s.is_empty()) {
            Some(id) => Ok(id),
            None => self.opt_str("run_uuid")?.filter(|s| !s.is_empty()).ok_or_else(|| missing(&self.name("run_id"))),
        }
    }

    pub fn opt_i64(&self, field: &str) -> Result<Option<i64>, ApiError> {
        let v = match self.get(field) {
            None => return Ok(None),
            Some(Value::Array(items)) if self.from_query => match items.first() {
                Some(v) => v,
                None => return Ok(None),
            },
            Some(v) => v,
        };
        let parsed = match v {
            Value::Number(n) => {
                n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| f as i64))
            }
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| wrong_type(&self.name(field), v))
    }

    pub fn req_i64(&self, field: &str) -> Result<i64, ApiError> {
        self.opt_i64(field)?.ok_or_else(|| missing(&self.name(field)))
    }

    pub fn req_f64(&self, field: &str) -> Result<f64, ApiError> {
        let v = self.get(field).ok_or_else(|| missing(&self.name(field)))?;
        let parsed = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => float_text::parse(s),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        };
        parsed.ok_or_else(|| wrong_type(&self.name(field), v))
    }

    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(wrong_type(&self.name(field), v)),
        }
    }

    /// A repeated string field; a single string counts as a list of one.
    pub fn str_list(&self, field: &str) -> Result<Vec<String>, ApiError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(wrong_type(&format!("{}[{i}]", self.name(field)), other)),
                })
                .collect(),
            Some(v) => Err(wrong_type(&self.name(field), v)),
        }
    }

    /// A repeated string field that must hold at least one item.
    pub fn req_str_list(&self, field: &str) -> Result<Vec<String>, ApiError> {
        let items = self.str_list(field)?;
        if items.is_empty() {
            return Err(missing(&self.name(field)));
        }
        Ok(items)
    }

    /// A `map<string, string>` field, as protobuf's JSON writes it, in key order.
    pub fn str_map(&self, field: &str) -> Result<Vec<(String, String)>, ApiError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Object(entries)) => entries
                .iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k.clone(), s.clone())),
                    other => Err(wrong_type(&format!("{}[{k}]", self.name(field)), other)),
                })
                .collect(),
            Some(v) => Err(wrong_type(&self.name(field), v)),
        }
    }

    /// A repeated message field.
    pub fn objects(&self, field: &str) -> Result<Vec<Input<'_>>, ApiError> {
        match self.get(field) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let array: std::rc::Rc<str> = self.name(field).into();
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::Object(fields) => Ok(Input {
                            fields: Cow::Borrowed(fields),
                            path: Path::Element(array.clone(), i),
                            from_query: false,
                        }),
                        other => Err(wrong_type(&format!("{array}[{i}]"), other)),
                    })
                    .collect()
            }
            Some(v) => Err(wrong_type(&self.name(field), v)),
        }
    }

    /// A nested message field.
    pub fn object(&self, field: &str) -> Result<Option<Input<'_>>, ApiError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Object(fields)) => Ok(Some(Input {
                fields: Cow::Borrowed(fields),
                path: Path::Prefix(format!("{}.", self.name(field))),
                from_query: false,
            })),
            Some(v) => Err(wrong_type(&self.name(field), v)),
        }
    }
}

/// A repeated `{key, value}` field as tags.
pub(crate) fn tags_of(input: &Input, field: &str) -> Result<Vec<Tag>, ApiError> {
    input
        .objects(field)?
        .iter()
        .map(|t| Ok(Tag { key: t.req_str("key")?, value: t.opt_str("value")?.unwrap_or_default() }))
        .collect()
}

/// A view-type field (`ACTIVE_ONLY`, `DELETED_ONLY`, `ALL`); active only when absent.
pub(crate) fn view(input: &Input, field: &str) -> Result<ViewType, ApiError> {
    match input.opt_str(field)? {
        None => Ok(ViewType::ActiveOnly),
        Some(s) => ViewType::parse(&s).ok_or_else(|| {
            Error::invalid(format!("Invalid value '{s}' for parameter '{field}': use ACTIVE_ONLY, DELETED_ONLY or ALL"))
                .into()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_repeat_into_lists() {
        let q = Input::from_query("run_ids=a&run_ids=b&metric_key=loss&max_results=5");
        assert_eq!(q.str_list("run_ids").unwrap(), ["a", "b"]);
        assert_eq!(q.str_list("metric_key").unwrap(), ["loss"]);
        assert_eq!(q.opt_i64("max_results").unwrap(), Some(5));
    }

    #[test]
    fn numbers_are_lenient_like_protobuf() {
        let j =
            Input::from_json(br#"{"a": 5, "b": "6", "c": 7.0, "d": 1.5, "v": "NaN", "w": "-Infinity", "x": "1e3"}"#)
                .unwrap();
        assert_eq!(j.opt_i64("a").unwrap(), Some(5));
        assert_eq!(j.opt_i64("b").unwrap(), Some(6));
        assert_eq!(j.opt_i64("c").unwrap(), Some(7));
        assert!(j.opt_i64("d").is_err());
        assert!(j.req_f64("v").unwrap().is_nan());
        assert_eq!(j.req_f64("w").unwrap(), f64::NEG_INFINITY);
        assert_eq!(j.req_f64("x").unwrap(), 1000.0);
    }

    #[test]
    fn errors_name_the_field_path() {
        let j = Input::from_json(br#"{"metrics": [{"key": "a"}, {"key": 5}]}"#).unwrap();
        let items = j.objects("metrics").unwrap();
        assert!(items[0].req_f64("value").unwrap_err().message.contains("'metrics[0].value'"));
        assert!(items[1].req_str("key").unwrap_err().message.contains("'metrics[1].key'"));
        assert!(Input::from_json(b"{not json").is_err());
        assert!(Input::from_json(b"[1,2]").is_err());
        assert!(Input::from_json(br#""{\"a\": 1}""#).unwrap().opt_i64("a").unwrap() == Some(1));
    }
}
