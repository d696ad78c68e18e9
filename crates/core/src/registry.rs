//! Model-registry rules: names, aliases, stages, and how registry searches
//! treat prompts.

use crate::error::{Error, Result};
use crate::model::{PROMPT_TAG, STAGES};
use crate::search::{CompareOp, Comparison, Filter, Key, Literal};

/// MLflow's `_validate_model_name`.
pub fn validate_model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid("Missing value for required parameter 'name'."));
    }
    if name.contains('/') || name.contains(':') {
        return Err(Error::invalid(format!("Invalid model name '{name}'. Names cannot contain '/' or ':'.")));
    }
    Ok(())
}

/// MLflow's alias rules: `[\w-]{1,255}`, not `latest`, not `v<digits>`.
pub fn validate_alias(alias: &str) -> Result<()> {
    if alias.eq_ignore_ascii_case("latest") {
        return Err(Error::invalid("'latest' alias name (case insensitive) is reserved."));
    }
    let b = alias.as_bytes();
    if b.len() >= 2 && (b[0] == b'v' || b[0] == b'V') && b[1..].iter().all(u8::is_ascii_digit) {
        return Err(Error::invalid(format!("Version alias name '{alias}' is reserved.")));
    }
    if alias.is_empty() || alias.len() > 255 || !alias.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    Ok(())
}

/// Gives each model-version creation its number. `claims` are (model name,
/// number the creating replica chose), in priority order: a claim keeps its
/// number unless an earlier claim holds it, else it takes the number after
/// the highest its model has. Two replicas that create "version 3" offline
/// thus end with 3 and 4, the same on every replica, and the order decides
/// which one keeps 3.
pub fn assign_version_numbers<'a>(claims: impl IntoIterator<Item = (&'a str, i64)>) -> Vec<i64> {
    let mut taken: std::collections::HashMap<&str, (std::collections::HashSet<i64>, i64)> = Default::default();
    claims
        .into_iter()
        .map(|(name, requested)| {
            let (numbers, highest) = taken.entry(name).or_default();
            let number = if requested >= 1 && !numbers.contains(&requested) { requested } else { *highest + 1 };
            numbers.insert(number);
            *highest = (*highest).max(number);
            number
        })
        .collect()
}

/// A version number from the wire, where it is a string.
pub fn parse_version(version: &str) -> Result<i64> {
    version
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid(format!("Parameter 'version' must be an integer, got '{version}'.")))
}

/// The stages MLflow accepts, canonicalized case-insensitively.
pub fn canonical_stage(stage: &str) -> Option<&'static str> {
    STAGES.iter().copied().find(|s| s.eq_ignore_ascii_case(stage))
}

/// Applies MLflow's prompt rule to a registry filter. A clause asking for
/// prompts (`tags.mlflow.prompt.is_prompt = 'true'`, or `!= 'false'`) stays
/// and admits prompts. Any other clause on that tag (the client's own
/// `!= 'true'`) is dropped: it means "no prompts", which is the default.
/// Returns the filter left, and whether prompts are admitted.
pub fn split_prompt_clauses(filter: Option<Filter>) -> (Option<Filter>, bool) {
    /// None: not a prompt clause; Some(wants_prompts) otherwise.
    fn prompt_clause(f: &Filter) -> Option<bool> {
        match f {
            Filter::Compare(Comparison { key: Key::Tag(k), op, value }) if k == PROMPT_TAG => Some(
                matches!((op, value), (CompareOp::Eq, Literal::String(v)) if v == "true")
                    || matches!((op, value), (CompareOp::Ne, Literal::String(v)) if v == "false"),
            ),
            _ => None,
        }
    }
    let Some(filter) = filter else { return (None, false) };
    let parts = match filter {
        Filter::And(parts) => parts,
        other => vec![other],
    };
    let mut wants = false;
    let kept: Vec<Filter> = parts
        .into_iter()
        .filter(|p| match prompt_clause(p) {
            Some(true) => {
                wants = true;
                true
            }
            Some(false) => false,
            None => true,
        })
        .collect();
    let rest = match kept.len() {
        0 => None,
        1 => kept.into_iter().next(),
        _ => Some(Filter::And(kept)),
    };
    (rest, wants)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Target, parse_filter};

    #[test]
    fn version_numbers_follow_claim_order() {
        type Case<'a> = (&'a [(&'a str, i64)], &'a [i64]);
        let cases: &[Case] = &[
            (&[("m", 1), ("m", 2), ("m", 3)], &[1, 2, 3]),
            // Two replicas both made version 1 offline: the later claim moves.
            (&[("m", 1), ("m", 1)], &[1, 2]),
            (&[("m", 1), ("m", 2), ("m", 1), ("m", 2)], &[1, 2, 3, 4]),
            // Other models are independent.
            (&[("a", 1), ("b", 1), ("a", 1)], &[1, 1, 2]),
            // A gap is kept; a moved claim goes after the highest.
            (&[("m", 5), ("m", 5), ("m", 2)], &[5, 6, 2]),
            (&[("m", 0), ("m", -3)], &[1, 2]),
        ];
        for (claims, expected) in cases {
            assert_eq!(assign_version_numbers(claims.iter().copied()), *expected, "{claims:?}");
        }
    }

    #[test]
    fn aliases() {
        for (alias, ok) in [
            ("champion", true),
            ("a-b_c1", true),
            ("latest", false),
            ("LATEST", false),
            ("v3", false),
            ("v", true),
            ("a b", false),
            ("", false),
        ] {
            assert_eq!(validate_alias(alias).is_ok(), ok, "{alias}");
        }
    }

    #[test]
    fn prompt_clauses() {
        let split = |f: &str| {
            let (rest, wants) = split_prompt_clauses(parse_filter(f, Target::RegisteredModels).unwrap());
            (rest.is_some(), wants)
        };
        assert_eq!(split("tag.`mlflow.prompt.is_prompt` != 'true'"), (false, false));
        assert_eq!(split("tags.`mlflow.prompt.is_prompt` = 'true'"), (true, true));
        assert_eq!(split("name = 'a' AND tags.`mlflow.prompt.is_prompt` != 'true'"), (true, false));
        assert_eq!(split("name = 'a'"), (true, false));
        assert_eq!(canonical_stage("production"), Some("Production"));
        assert_eq!(canonical_stage("bogus"), None);
    }
}
