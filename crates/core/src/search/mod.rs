//! MLflow's search grammar, as a typed AST with positioned errors.
//!
//! The accepted language is a strict superset of MLflow's: every filter
//! MLflow accepts parses here to the same meaning, and in addition `OR`,
//! parentheses, and `IN` on params and tags are accepted (mlflow issues
//! #6075 and #4135). Precedence is SQL's: `AND` binds tighter than `OR`.
//!
//! The store compiles the AST to SQL; the UI will use the same parser to
//! show errors inline as the user types.

mod ast;
mod lexer;
mod parser;

pub use ast::{Attribute, CompareOp, Comparison, DatasetField, Filter, Key, Literal, OrderBy, Target};
pub use parser::{MAX_NESTING, parse_filter, parse_order_by};

/// A filter or order_by that does not parse. `position` is the 0-based
/// character offset where the problem starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at position {position})")]
pub struct SearchError {
    pub position: usize,
    pub message: String,
}

impl From<SearchError> for crate::Error {
    fn from(e: SearchError) -> Self {
        crate::Error::invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests;
