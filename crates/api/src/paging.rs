//! MLflow's page tokens: base64 of `{"offset": N}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_page_token: Option<String>,
}

pub(crate) fn encode(offset: i64) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// The offset a token points at; no token means the start.
pub(crate) fn decode(token: Option<&str>) -> Result<i64> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = STANDARD.decode(token).map_err(|_| Error::invalid("Invalid page token, could not base64-decode"))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        Error::invalid(format!("Invalid page token, decoded value={}", String::from_utf8_lossy(&bytes)))
    })?;
    let offset = value
        .get("offset")
        .and_then(|o| o.as_i64().or_else(|| o.as_str().and_then(|s| s.parse().ok())))
        .filter(|o| *o > 0)
        .ok_or_else(|| Error::invalid(format!("Invalid page token, parsed value={value}")))?;
    Ok(offset)
}

pub(crate) fn page<T>(items: Vec<T>, offset: i64, more: bool) -> Page<T> {
    let next = more.then(|| encode(offset + items.len() as i64));
    Page { items, next_page_token: next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(encode(1), "eyJvZmZzZXQiOiAxfQ==", "byte-identical to MLflow's");
        assert_eq!(decode(Some(&encode(1234))).unwrap(), 1234);
        assert_eq!(decode(None).unwrap(), 0);
        assert_eq!(decode(Some("")).unwrap(), 0);
        for bad in ["abc", "zzz=", &STANDARD.encode("[1]"), &STANDARD.encode("{\"offset\": 0}"), &STANDARD.encode("x")]
        {
            assert_eq!(decode(Some(bad)).unwrap_err().code, crate::ErrorCode::InvalidParameterValue, "{bad}");
        }
    }
}
