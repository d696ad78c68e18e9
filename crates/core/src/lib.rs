//! Almanac's domain core.
//!
//! Everything here is pure: no files, no sockets, no clocks, no randomness.
//! Time, ids and randomness come in as arguments, which is what lets the
//! store, the sync engine and the tests replay the same inputs to the same
//! state. The crate also builds for `wasm32-unknown-unknown` so the UI can
//! share the search grammar and validation.

pub mod downsample;
pub mod error;
pub mod ids;
pub mod model;
pub mod names;
pub mod op;
pub mod registry;
pub mod search;
pub mod trace;
pub mod validation;

pub use error::{Error, ErrorCode};
