//! Globally unique ids, made from randomness the caller passes in.
//!
//! Two machines that never talk must never mint the same id, because git sync
//! later merges their journals. So every id comes from 128 or 64 random bits,
//! and the caller (not this crate) owns the random source.

/// MLflow's default experiment. The one id that is the same everywhere.
pub const DEFAULT_EXPERIMENT_ID: &str = "0";
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";

/// A run id: 32 lowercase hex digits, shaped like MLflow's `uuid4().hex`.
pub fn run_id_from_random(bytes: [u8; 16]) -> String {
    let mut b = bytes;
    // Version 4, variant 1: the same shape MLflow's uuid4 ids have.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(32);
    for byte in b {
        s.push(char::from_digit((byte >> 4) as u32, 16).unwrap_or('0'));
        s.push(char::from_digit((byte & 0xf) as u32, 16).unwrap_or('0'));
    }
    s
}

/// An experiment id: a decimal integer string, as MLflow's are, drawn from 59
/// random bits so ids minted on different machines do not collide. Always 18
/// digits, so ids sort the same as strings and as numbers.
pub fn experiment_id_from_random(random: u64) -> String {
    const LOW: u64 = 100_000_000_000_000_000; // 10^17
    const SPAN: u64 = 900_000_000_000_000_000; // 9 * 10^17 < 2^60
    (LOW + random % SPAN).to_string()
}

/// A writer id names one store replica in the journal: 16 hex digits.
pub fn writer_id_from_random(random: u64) -> String {
    format!("{random:016x}")
}

/// Whether `s` looks like a run id MLflow would have minted or accepted:
/// 1–256 characters of `[a-zA-Z0-9_-]` (MLflow's `_RUN_ID_REGEX`).
pub fn is_valid_run_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_uuid4_hex() {
        let id = run_id_from_random([0xff; 16]);
        assert_eq!(id.len(), 32);
        assert_eq!(&id[12..13], "4");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(run_id_from_random([0; 16]), run_id_from_random([1; 16]));
    }

    #[test]
    fn experiment_ids_have_18_digits() {
        for r in [0, 1, u64::MAX, 123_456_789, 1 << 63] {
            let id = experiment_id_from_random(r);
            assert_eq!(id.len(), 18, "{id}");
            assert_ne!(id, DEFAULT_EXPERIMENT_ID);
        }
    }

    #[test]
    fn run_id_validation() {
        for (input, ok) in [("abc123", true), ("", false), ("a/b", false), ("a-b_c", true), ("../x", false)] {
            assert_eq!(is_valid_run_id(input), ok, "{input}");
        }
        assert!(!is_valid_run_id(&"a".repeat(257)));
    }
}
