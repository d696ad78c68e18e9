//! The math behind the comparison charts, apart from drawing: how a series
//! is smoothed, what its x-axis is, how runs grouped together become a mean
//! line with a min–max band, which colour a run gets, and how much each
//! param matters to a metric. No IO, no clock, no hidden randomness: the
//! forest takes its seed as an argument.

pub mod align;
pub mod colour;
pub mod importance;
pub mod parallel;
pub mod smooth;

/// One logged point of a metric, as the charts read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub step: i64,
    pub timestamp: i64,
    pub value: f64,
}
