//! Recursive-descent parser: `expr := and (OR and)*`, `and := atom (AND atom)*`,
//! `atom := '(' expr ')' | key op value`.

use super::SearchError;
use super::ast::*;
use super::lexer::{Tok, Token, tokenize};

/// Parentheses deeper than this are refused: a hostile filter must not be
/// able to exhaust the stack.
pub const MAX_NESTING: usize = 64;

/// Parses a filter string. An empty or blank filter is `None` (match all).
pub fn parse_filter(input: &str, target: Target) -> Result<Option<Filter>, SearchError> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { tokens, at: 0, target, end: input.chars().count() };
    let filter = p.or_expr(0)?;
    if let Some(t) = p.peek() {
        return Err(p.error_at(
            t.pos,
            format!("Unexpected {} after a complete filter; join clauses with AND or OR", describe(&t.tok)),
        ));
    }
    Ok(Some(filter))
}

/// Parses one `order_by` entry: `key [ASC|DESC]`.
pub fn parse_order_by(input: &str, target: Target) -> Result<OrderBy, SearchError> {
    let tokens = tokenize(input)?;
    let end = input.chars().count();
    let mut p = Parser { tokens, at: 0, target, end };
    let key = p.key()?;
    let ascending = match p.next() {
        None => true,
        Some(Token { tok: Tok::Word(w), pos, .. }) => match w.to_ascii_uppercase().as_str() {
            "ASC" => true,
            "DESC" => false,
            _ => {
                return Err(p.error_at(pos, format!("Invalid ordering '{w}'; expected ASC or DESC")));
            }
        },
        Some(t) => {
            return Err(p.error_at(t.pos, format!("Invalid ordering {}; expected ASC or DESC", describe(&t.tok))));
        }
    };
    if let Some(t) = p.peek() {
        return Err(p.error_at(t.pos, format!("Unexpected {} in order_by clause", describe(&t.tok))));
    }
    validate_order_key(&key, target).map_err(|m| p.error_at(0, m))?;
    Ok(OrderBy { key, ascending })
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    target: Target,
    end: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Word(w) => format!("'{w}'"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Backtick(s) => format!("`{s}`"),
        Tok::Number(n) => format!("number {n}"),
        Tok::Op(o) => format!("'{o}'"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
    }
}

fn is_keyword(tok: &Tok, keyword: &str) -> bool {
    matches!(tok, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn error_at(&self, position: usize, message: impl Into<String>) -> SearchError {
        SearchError { position, message: message.into() }
    }
    fn here(&self) -> usize {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn skip_ands(&mut self) -> bool {
        let mut any = false;
        while self.peek().is_some_and(|t| is_keyword(&t.tok, "AND")) {
            self.at += 1;
            any = true;
        }
        any
    }

    fn or_expr(&mut self, depth: usize) -> Result<Filter, SearchError> {
        let mut parts = vec![self.and_expr(depth)?];
        while self.peek().is_some_and(|t| is_keyword(&t.tok, "OR")) {
            self.at += 1;
            parts.push(self.and_expr(depth)?);
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Filter::Or(parts) })
    }

    /// MLflow (through sqlparse) also accepts a missing, doubled, leading or
    /// trailing `AND` between comparisons; so do we, with the same meaning.
    fn and_expr(&mut self, depth: usize) -> Result<Filter, SearchError> {
        self.skip_ands();
        let mut parts = vec![self.atom(depth)?];
        loop {
            let had_and = self.skip_ands();
            match self.peek() {
                Some(t) if is_keyword(&t.tok, "OR") || t.tok == Tok::RParen => break,
                Some(Token { tok: Tok::Word(_) | Tok::LParen, .. }) => parts.push(self.atom(depth)?),
                None if had_and => break,
                _ => break,
            }
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Filter::And(parts) })
    }

    fn atom(&mut self, depth: usize) -> Result<Filter, SearchError> {
        match self.peek() {
            Some(Token { tok: Tok::LParen, pos, .. }) => {
                let pos = *pos;
                if depth >= MAX_NESTING {
                    return Err(self.error_at(pos, format!("Parentheses nest deeper than {MAX_NESTING} levels")));
                }
                self.at += 1;
                let inner = self.or_expr(depth + 1)?;
                match self.next() {
                    Some(Token { tok: Tok::RParen, .. }) => Ok(inner),
                    Some(t) => Err(self.error_at(t.pos, format!("Expected ')' but found {}", describe(&t.tok)))),
                    None => Err(self.error_at(self.end, "Missing ')'")),
                }
            }
            _ => self.comparison().map(Filter::Compare),
        }
    }

    /// Reads an identifier: `prefix.key`, `` prefix.`key` ``, `prefix."key"`, or a bare attribute.
    fn key(&mut self) -> Result<Key, SearchError> {
        let start = self.here();
        let word = match self.next() {
            Some(Token { tok: Tok::Word(w), .. }) => w,
            Some(t) => {
                return Err(self.error_at(
                    t.pos,
                    format!("Expected a key such as metrics.accuracy but found {}", describe(&t.tok)),
                ));
            }
            None => {
                return Err(self.error_at(start, "Expected a key such as metrics.accuracy but the filter ended"));
            }
        };
        let (prefix, mut name) = match word.split_once('.') {
            Some((prefix, rest)) => (Some(prefix.to_string()), rest.to_string()),
            None => (None, word.clone()),
        };
        if prefix.is_some() && name.is_empty() {
            match self.peek() {
                Some(Token { tok: Tok::Str(s) | Tok::Backtick(s), spaced: false, .. }) => {
                    name = s.clone();
                    self.at += 1;
                }
                _ => {
                    return Err(self.error_at(self.here(), format!("Expected a key name after '{word}'")));
                }
            }
        }
        resolve_key(prefix.as_deref(), name, self.target).map_err(|m| self.error_at(start, m))
    }

    fn comparison(&mut self) -> Result<Comparison, SearchError> {
        let key_pos = self.here();
        let key = self.key()?;
        let op_pos = self.here();
        let op = match self.next() {
            Some(Token { tok: Tok::Op(o), .. }) => match o {
                "=" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                ">" => CompareOp::Gt,
                _ => CompareOp::Ge,
            },
            Some(Token { tok: Tok::Word(w), .. }) => match w.to_ascii_uppercase().as_str() {
                "LIKE" => CompareOp::Like,
                "ILIKE" => CompareOp::ILike,
                "IN" => CompareOp::In,
                "NOT" => match self.next() {
                    Some(t) if is_keyword(&t.tok, "IN") => CompareOp::NotIn,
                    _ => return Err(self.error_at(op_pos, "Expected IN after NOT")),
                },
                "IS" => {
                    let negated = self.peek().is_some_and(|t| is_keyword(&t.tok, "NOT"));
                    if negated {
                        self.at += 1;
                    }
                    match self.next() {
                        Some(t) if is_keyword(&t.tok, "NULL") => {}
                        _ => return Err(self.error_at(op_pos, "Expected NULL after IS")),
                    }
                    if negated { CompareOp::IsNotNull } else { CompareOp::IsNull }
                }
                _ => return Err(self.error_at(op_pos, format!("Invalid comparator '{w}'"))),
            },
            Some(t) => {
                return Err(self.error_at(t.pos, format!("Expected a comparator but found {}", describe(&t.tok))));
            }
            None => return Err(self.error_at(op_pos, "Expected a comparator but the filter ended")),
        };
        let value_pos = self.here();
        let value = match op {
            CompareOp::IsNull | CompareOp::IsNotNull => Literal::None,
            CompareOp::In | CompareOp::NotIn => self.list()?,
            _ => match self.next() {
                Some(Token { tok: Tok::Str(s), .. }) => Literal::String(s),
                Some(Token { tok: Tok::Number(n), .. }) => Literal::Number(n),
                Some(t) => {
                    return Err(self.error_at(t.pos, format!("Expected a value but found {}", describe(&t.tok))));
                }
                None => {
                    return Err(self.error_at(value_pos, "Expected a value but the filter ended"));
                }
            },
        };
        check_types(&key, op, &value)
            .map_err(|(m, at_value)| self.error_at(if at_value { value_pos } else { key_pos }, m))?;
        Ok(Comparison { key, op, value })
    }

    fn list(&mut self) -> Result<Literal, SearchError> {
        match self.next() {
            Some(Token { tok: Tok::LParen, .. }) => {}
            Some(t) => {
                return Err(self.error_at(t.pos, "Expected a parenthesized list such as ('a', 'b') after IN"));
            }
            None => return Err(self.error_at(self.end, "Expected a parenthesized list after IN")),
        }
        let mut items = Vec::new();
        loop {
            match self.next() {
                Some(Token { tok: Tok::Str(s), .. }) => items.push(s),
                Some(t) => {
                    return Err(self.error_at(
                        t.pos,
                        format!("Expected a quoted string in the list but found {}", describe(&t.tok)),
                    ));
                }
                None => return Err(self.error_at(self.end, "Unterminated list: missing ')'")),
            }
            match self.next() {
                Some(Token { tok: Tok::Comma, .. }) => continue,
                Some(Token { tok: Tok::RParen, .. }) => break,
                Some(t) => {
                    return Err(
                        self.error_at(t.pos, format!("Expected ',' or ')' in the list but found {}", describe(&t.tok)))
                    );
                }
                None => return Err(self.error_at(self.end, "Unterminated list: missing ')'")),
            }
        }
        Ok(Literal::List(items))
    }
}

fn resolve_key(prefix: Option<&str>, name: String, target: Target) -> Result<Key, String> {
    let entity = prefix.map(|p| p.to_ascii_lowercase());
    let key = match (entity.as_deref(), target) {
        (Some("metric" | "metrics"), Target::Runs | Target::LoggedModels) => Key::Metric(name),
        (Some("param" | "params" | "parameter" | "parameters"), Target::Runs | Target::LoggedModels) => {
            Key::Param(name)
        }
        (Some("tag" | "tags"), _) => Key::Tag(name),
        (Some("metadata" | "request_metadata"), Target::Traces) => Key::Metadata(name),
        (Some("trace"), Target::Traces) => Key::Attribute(attribute(&name, target)?),
        (Some("dataset" | "datasets"), Target::Runs) => Key::Dataset(match name.as_str() {
            "name" => DatasetField::Name,
            "digest" => DatasetField::Digest,
            "context" => DatasetField::Context,
            _ => {
                return Err(format!("Invalid dataset key '{name}'. Valid keys are 'name', 'digest', 'context'"));
            }
        }),
        (Some("attribute" | "attributes" | "attr" | "run"), _) | (None, _) => Key::Attribute(attribute(&name, target)?),
        (Some(other), Target::Runs) => {
            return Err(format!(
                "Invalid entity type '{other}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
            ));
        }
        (Some(other), Target::Traces) => {
            return Err(format!(
                "Invalid entity type '{other}'. Valid values are ['tag', 'metadata', 'attribute', 'trace']"
            ));
        }
        (Some(other), _) => {
            return Err(format!("Invalid entity type '{other}'. Valid values are ['tag', 'attribute']"));
        }
    };
    if let Key::Metric(n) | Key::Param(n) | Key::Tag(n) | Key::Metadata(n) = &key
        && n.is_empty()
    {
        return Err("Empty key name".into());
    }
    Ok(key)
}

fn attribute(name: &str, target: Target) -> Result<Attribute, String> {
    let found = match target {
        Target::Runs => match name {
            "run_id" | "run_uuid" => Some(Attribute::RunId),
            "run_name" | "run name" | "Run name" | "Run Name" => Some(Attribute::RunName),
            "status" => Some(Attribute::Status),
            "start_time" | "created" | "Created" => Some(Attribute::StartTime),
            "end_time" => Some(Attribute::EndTime),
            "user_id" => Some(Attribute::UserId),
            "artifact_uri" => Some(Attribute::ArtifactUri),
            "lifecycle_stage" => Some(Attribute::LifecycleStage),
            _ => None,
        },
        Target::LoggedModels => match name {
            "name" => Some(Attribute::Name),
            "model_id" => Some(Attribute::ModelId),
            "experiment_id" => Some(Attribute::ExperimentId),
            "source_run_id" => Some(Attribute::SourceRunId),
            "status" => Some(Attribute::ModelStatus),
            "model_type" => Some(Attribute::ModelType),
            "creation_time" | "creation_timestamp" => Some(Attribute::CreationTime),
            "last_updated_timestamp" | "last_update_time" => Some(Attribute::LastUpdateTime),
            _ => None,
        },
        Target::RegisteredModels => match name {
            "name" => Some(Attribute::Name),
            _ => None,
        },
        Target::ModelVersions => match name {
            "name" => Some(Attribute::Name),
            "version_number" => Some(Attribute::VersionNumber),
            "run_id" => Some(Attribute::RunId),
            "source_path" => Some(Attribute::SourcePath),
            _ => None,
        },
        Target::Experiments => match name {
            "name" => Some(Attribute::Name),
            "experiment_id" => Some(Attribute::ExperimentId),
            "creation_time" => Some(Attribute::CreationTime),
            "last_update_time" => Some(Attribute::LastUpdateTime),
            _ => None,
        },
        Target::Traces => match name {
            "status" | "state" => Some(Attribute::Status),
            "timestamp_ms" | "timestamp" | "request_time" => Some(Attribute::StartTime),
            "execution_time_ms" | "execution_duration_ms" | "execution_time" => Some(Attribute::ExecutionTime),
            "end_time_ms" => Some(Attribute::EndTime),
            "name" => Some(Attribute::Name),
            "trace_id" | "request_id" => Some(Attribute::TraceId),
            "client_request_id" => Some(Attribute::ClientRequestId),
            "run_id" => Some(Attribute::RunId),
            "experiment_id" => Some(Attribute::ExperimentId),
            _ => None,
        },
    };
    found.ok_or_else(|| {
        let valid = match target {
            Target::Runs => "['run_id', 'run_name', 'status', 'start_time', 'end_time', 'user_id', 'artifact_uri', 'lifecycle_stage']",
            Target::Experiments => "['name', 'experiment_id', 'creation_time', 'last_update_time']",
            Target::RegisteredModels => "['name']",
            Target::ModelVersions => "['name', 'version_number', 'run_id', 'source_path']",
            Target::LoggedModels => {
                "['name', 'model_id', 'experiment_id', 'source_run_id', 'status', 'model_type', 'creation_timestamp', 'last_updated_timestamp']"
            }
            Target::Traces => {
                "['status', 'timestamp_ms', 'execution_time_ms', 'end_time_ms', 'name', 'trace_id', 'client_request_id', 'run_id']"
            }
        };
        format!("Invalid attribute key '{name}' specified. Valid keys are {valid}")
    })
}

/// Checks that the comparator and the value suit the key. The error's bool
/// says whether it points at the value (true) or at the key (false).
fn check_types(key: &Key, op: CompareOp, value: &Literal) -> Result<(), (String, bool)> {
    use CompareOp::*;
    let numeric = match key {
        Key::Metric(_) => true,
        Key::Attribute(a) => a.is_numeric(),
        _ => false,
    };
    let allowed: &[CompareOp] = if numeric {
        &[Eq, Ne, Lt, Le, Gt, Ge, IsNull, IsNotNull]
    } else {
        &[Eq, Ne, Like, ILike, In, NotIn, IsNull, IsNotNull]
    };
    if !allowed.contains(&op) {
        let names: Vec<&str> = allowed.iter().map(|o| o.as_str()).collect();
        return Err((
            format!("Invalid comparator '{}' for {}; use one of {}", op.as_str(), key_kind(key), names.join(", ")),
            false,
        ));
    }
    match (numeric, value) {
        (_, Literal::None | Literal::List(_)) => Ok(()),
        (true, Literal::Number(_)) | (false, Literal::String(_)) => Ok(()),
        (true, Literal::String(s)) => {
            Err((format!("Expected numeric value type for {}. Found '{s}'", key_kind(key)), true))
        }
        (false, Literal::Number(n)) => Err((
            format!("Expected a quoted string value for {} (e.g. '{n}'), found an unquoted number", key_kind(key)),
            true,
        )),
    }
}

fn key_kind(key: &Key) -> &'static str {
    match key {
        Key::Metric(_) => "metric",
        Key::Param(_) => "parameter",
        Key::Tag(_) => "tag",
        Key::Attribute(a) if a.is_numeric() => "numeric attribute",
        Key::Attribute(_) => "attribute",
        Key::Dataset(_) => "dataset",
        Key::Metadata(_) => "metadata",
    }
}

fn validate_order_key(key: &Key, target: Target) -> Result<(), String> {
    match (key, target) {
        (Key::Dataset(_), _) => Err("Ordering by dataset fields is not supported".into()),
        (Key::Attribute(Attribute::LifecycleStage), _) => Err("Ordering by lifecycle_stage is not supported".into()),
        _ => Ok(()),
    }
}
