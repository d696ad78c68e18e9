//! The arithmetic of the virtualized runs table: which rows are on screen,
//! which pages to fetch, and where expanded child runs sit. Pure.

/// Every row has this height in pixels, so positions need no measuring and
/// nothing jumps while rows load.
pub const ROW_HEIGHT: f64 = 30.0;
/// Rows fetched per request.
pub const PAGE_SIZE: usize = 100;
/// Rows rendered beyond each edge of the viewport.
pub const OVERSCAN: usize = 12;

/// The rows `start..end` to render for a viewport scrolled to `scroll_top`.
pub fn visible_rows(scroll_top: f64, viewport: f64, rows: usize) -> (usize, usize) {
    let first = (scroll_top.max(0.0) / ROW_HEIGHT).floor() as usize;
    let shown = (viewport.max(0.0) / ROW_HEIGHT).ceil() as usize + 1;
    let start = first.saturating_sub(OVERSCAN).min(rows);
    let end = (first + shown + OVERSCAN).min(rows);
    (start, end)
}

/// The pages holding rows `start..end`.
pub fn pages(start: usize, end: usize) -> std::ops::Range<usize> {
    if start >= end {
        return 0..0;
    }
    start / PAGE_SIZE..(end - 1) / PAGE_SIZE + 1
}

/// A visual row: a top-level run (its index in the server's order), or the
/// `index`th child of an expanded top-level run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Top(usize),
    Child { parent: usize, index: usize },
}

/// Expanded parents as (top-level index, rows of children shown), sorted by index.
pub type Expansions = [(usize, usize)];

/// How many visual rows `top` top-level runs make with these expansions.
pub fn visual_len(top: usize, expanded: &Expansions) -> usize {
    top + expanded.iter().filter(|(i, _)| *i < top).map(|(_, n)| n).sum::<usize>()
}

/// What sits at visual row `row`.
pub fn slot(row: usize, expanded: &Expansions) -> Slot {
    let mut skipped = 0;
    for &(parent, children) in expanded {
        let parent_row = parent + skipped;
        if row <= parent_row {
            break;
        }
        if row <= parent_row + children {
            return Slot::Child { parent, index: row - parent_row - 1 };
        }
        skipped += children;
    }
    Slot::Top(row - skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewport_maps_to_rows_with_overscan() {
        // 300 px show 10 rows, plus one partly visible; 12 more either side.
        let cases = [
            ((0.0, 300.0, 100_000), (0, 23)),
            ((30_000.0, 300.0, 100_000), (988, 1023)),
            ((0.0, 300.0, 5), (0, 5)),
            ((10_000.0, 300.0, 5), (5, 5)),
            ((-50.0, 0.0, 100), (0, 13)),
        ];
        for ((top, height, rows), expected) in cases {
            assert_eq!(visible_rows(top, height, rows), expected, "{top} {height} {rows}");
        }
    }

    #[test]
    fn row_ranges_cover_their_pages() {
        assert_eq!(pages(0, 0), 0..0);
        assert_eq!(pages(0, 1), 0..1);
        assert_eq!(pages(99, 101), 0..2);
        assert_eq!(pages(100, 200), 1..2);
        assert_eq!(pages(250, 420), 2..5);
    }

    #[test]
    fn expanded_children_sit_under_their_parents() {
        // Parent 1 shows 2 children; parent 3 shows 1.
        let expanded = [(1, 2), (3, 1)];
        let expected = [
            Slot::Top(0),
            Slot::Top(1),
            Slot::Child { parent: 1, index: 0 },
            Slot::Child { parent: 1, index: 1 },
            Slot::Top(2),
            Slot::Top(3),
            Slot::Child { parent: 3, index: 0 },
            Slot::Top(4),
        ];
        for (row, slot_expected) in expected.iter().enumerate() {
            assert_eq!(slot(row, &expanded), *slot_expected, "row {row}");
        }
        assert_eq!(visual_len(5, &expanded), 8);
        assert_eq!(visual_len(2, &expanded), 4);
        assert_eq!(slot(3, &[]), Slot::Top(3));
    }
}
