//! Splits a filter string into tokens, each with its character position.

use super::SearchError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// A bare word or dotted identifier: `metrics.acc`, `tags.mlflow.user`,
    /// `status`, or `metrics.` when a quoted key follows.
    Word(String),
    /// `'text'` or `"text"`.
    Str(String),
    /// `` `text` ``: always part of an identifier.
    Backtick(String),
    Number(f64),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub pos: usize,
    /// Whether whitespace separates this token from the previous one; a
    /// quoted key must follow its `prefix.` directly.
    pub spaced: bool,
}

fn is_word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/')
}

pub(super) fn tokenize(input: &str) -> Result<Vec<Token>, SearchError> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut spaced = true;
    while i < chars.len() {
        let c = chars[i];
        let pos = i;
        if c.is_whitespace() {
            spaced = true;
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += if chars.get(i + 1) == Some(&'=') { 2 } else { 1 };
                Tok::Op("=")
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                i += 2;
                Tok::Op("!=")
            }
            '<' | '>' => {
                let with_eq = chars.get(i + 1) == Some(&'=');
                i += if with_eq { 2 } else { 1 };
                Tok::Op(match (c, with_eq) {
                    ('<', false) => "<",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    _ => ">=",
                })
            }
            '\'' | '"' | '`' => {
                let (text, next) = quoted(&chars, i)?;
                i = next;
                match c {
                    // A quoted prefix, as in `` `datasets`.`name` ``: the
                    // prefix and its dot become a word, as if unquoted.
                    '`' if chars.get(i) == Some(&'.') => {
                        let start = i;
                        while i < chars.len() && is_word_char(chars[i]) {
                            i += 1;
                        }
                        Tok::Word(format!("{text}{}", chars[start..i].iter().collect::<String>()))
                    }
                    '`' => Tok::Backtick(text),
                    _ => Tok::Str(text),
                }
            }
            c if c.is_ascii_digit() || ((c == '-' || c == '+' || c == '.') && starts_number(&chars, i)) => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.'
                        || matches!(chars[i], 'e' | 'E')
                        || (matches!(chars[i], '+' | '-') && matches!(chars[i - 1], 'e' | 'E')))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let value = text
                    .parse::<f64>()
                    .map_err(|_| SearchError { position: start, message: format!("Invalid number '{text}'") })?;
                Tok::Number(value)
            }
            c if is_word_start(c) => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other => {
                return Err(SearchError { position: pos, message: format!("Unexpected character '{other}'") });
            }
        };
        tokens.push(Token { tok, pos, spaced });
        spaced = false;
    }
    Ok(tokens)
}

fn starts_number(chars: &[char], i: usize) -> bool {
    let next = chars.get(i + 1).copied();
    match chars[i] {
        '.' => next.is_some_and(|c| c.is_ascii_digit()),
        _ => next
            .is_some_and(|c| c.is_ascii_digit() || (c == '.' && chars.get(i + 2).is_some_and(|d| d.is_ascii_digit()))),
    }
}

/// Reads a quoted run starting at `chars[start]` (the quote). As in MLflow
/// (sqlparse), a doubled quote or a backslash-escaped one does not end the
/// text, and the text between the outer quotes is kept verbatim, escapes
/// included, so a filter never means something else here than in MLflow.
fn quoted(chars: &[char], start: usize) -> Result<(String, usize), SearchError> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && matches!(chars.get(i + 1), Some(&n) if n == quote || n == '\\') {
            i += 2;
        } else if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return Ok((chars[start + 1..i].iter().collect(), i + 1));
            }
        } else {
            i += 1;
        }
    }
    Err(SearchError { position: start, message: format!("Unterminated {quote}-quoted text") })
}
