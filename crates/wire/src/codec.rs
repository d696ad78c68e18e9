//! Protobuf's JSON mapping as MLflow reads and writes it: int64 arrives as a
//! number or a string, doubles may be "NaN" or "±Infinity", numbers that
//! are strings in one version are numbers in another. Decoding is lenient;
//! encoding is MLflow's.

use serde::{Deserialize, Deserializer, Serializer};
use serde_json::Value;

/// A double as protobuf's JSON writes it: NaN and ±Infinity as strings
/// (the journal writes floats the same way, `almanac_core::model::float_text`).
pub fn serialize_float<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    almanac_core::model::float_text::serialize(v, s)
}

/// A double from a number or its text ("NaN", "Infinity", "0.5").
pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => float_text(&s).ok_or_else(|| serde::de::Error::custom(format!("not a number: {s:?}"))),
        Value::Null => Ok(f64::NAN),
        other => Err(serde::de::Error::custom(format!("not a number: {other}"))),
    }
}

/// An optional double (null or absent is `None`).
pub fn opt_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => float_text(&s),
        _ => None,
    })
}

pub fn serialize_opt_float<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => serialize_float(v, s),
        None => s.serialize_none(),
    }
}

fn float_text(s: &str) -> Option<f64> {
    almanac_core::model::float_text::parse(s)
}

/// An int64 from a number or a numeric string; null or absent is 0.
pub fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(opt_int64(d)?.unwrap_or(0))
}

/// An optional int64 from a number or a numeric string.
pub fn opt_int64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => Ok(n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => s.parse().map(Some).map_err(|_| serde::de::Error::custom(format!("not an int64: {s:?}"))),
        Value::Null => Ok(None),
        other => Err(serde::de::Error::custom(format!("not an int64: {other}"))),
    }
}

/// Text from a string or a number (a version is a string in the registry's
/// answers and a number in an alias entry of some versions); null is "".
pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, serde::Serialize, Debug, PartialEq)]
    struct Probe {
        #[serde(deserialize_with = "float", serialize_with = "serialize_float")]
        value: f64,
        #[serde(deserialize_with = "int64")]
        step: i64,
        #[serde(deserialize_with = "text")]
        version: String,
    }

    #[test]
    fn decodes_leniently_and_encodes_as_mlflow() {
        for (input, value, step, version) in [
            (r#"{"value": 0.5, "step": 3, "version": "2"}"#, 0.5, 3, "2"),
            (r#"{"value": "0.5", "step": "3", "version": 2}"#, 0.5, 3, "2"),
            (r#"{"value": "Infinity", "step": "-1", "version": null}"#, f64::INFINITY, -1, ""),
        ] {
            let p: Probe = serde_json::from_str(input).unwrap();
            assert_eq!((p.value, p.step, p.version.as_str()), (value, step, version), "{input}");
        }
        let nan: Probe = serde_json::from_str(r#"{"value": "NaN", "step": 0, "version": "1"}"#).unwrap();
        assert!(nan.value.is_nan());
        assert_eq!(serde_json::to_string(&nan).unwrap(), r#"{"value":"NaN","step":0,"version":"1"}"#);
        let neg = Probe { value: f64::NEG_INFINITY, step: 1, version: "x".into() };
        assert_eq!(serde_json::to_string(&neg).unwrap(), r#"{"value":"-Infinity","step":1,"version":"x"}"#);
        assert!(serde_json::from_str::<Probe>(r#"{"value": "high", "step": 0, "version": ""}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"value": 1, "step": "many", "version": ""}"#).is_err());
    }
}
