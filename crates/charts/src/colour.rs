//! A run's colour: chosen from its id alone, so it is the same in every
//! chart, table and view, on every machine.

/// Twenty colours that stay apart on light and dark backgrounds.
pub const PALETTE: [[u8; 3]; 20] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
    [57, 106, 177],
    [218, 124, 48],
    [62, 150, 81],
    [204, 37, 41],
    [107, 76, 154],
    [146, 36, 40],
    [148, 139, 61],
    [0, 128, 128],
    [255, 99, 71],
    [70, 130, 180],
];

pub fn run_colour(run_id: &str) -> [u8; 3] {
    // FNV-1a: stable across platforms and releases, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    PALETTE[(h % PALETTE.len() as u64) as usize]
}

pub fn css(rgb: [u8; 3]) -> String {
    format!("rgb({}, {}, {})", rgb[0], rgb[1], rgb[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_stable_and_spread() {
        assert_eq!(run_colour("abc"), run_colour("abc"));
        let ids: Vec<String> = (0..200).map(|i| format!("{i:032x}")).collect();
        let used: std::collections::HashSet<[u8; 3]> = ids.iter().map(|i| run_colour(i)).collect();
        assert!(used.len() >= 18, "200 runs use {} of 20 colours", used.len());
        assert_eq!(css([1, 2, 3]), "rgb(1, 2, 3)");
    }
}
