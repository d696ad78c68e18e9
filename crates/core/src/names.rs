//! Run names for runs created without one, in MLflow's `adjective-noun-NNN`
//! shape (e.g. `quiet-heron-042`). The caller supplies the randomness.

const ADJECTIVES: &[&str] = &[
    "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "curious", "dapper", "eager", "fancy", "gentle",
    "glad", "golden", "happy", "honest", "jolly", "keen", "kind", "lively", "lucky", "mellow", "merry", "nimble",
    "polite", "proud", "quick", "quiet", "rare", "rustic", "shy", "silent", "smooth", "sunny", "swift", "tidy", "vast",
    "warm", "wise", "zesty",
];

const NOUNS: &[&str] = &[
    "ant", "badger", "bat", "bear", "bee", "bison", "carp", "cat", "cod", "colt", "crab", "crane", "deer", "dove",
    "eel", "elk", "finch", "fox", "frog", "gnu", "goat", "hare", "hawk", "heron", "horse", "ibis", "lark", "lion",
    "lynx", "mole", "moth", "newt", "owl", "panda", "quail", "ram", "robin", "seal", "snail", "stork", "swan", "toad",
    "trout", "whale", "wolf", "yak",
];

pub fn run_name_from_random(random: u64) -> String {
    let adjective = ADJECTIVES[(random % ADJECTIVES.len() as u64) as usize];
    let rest = random / ADJECTIVES.len() as u64;
    let noun = NOUNS[(rest % NOUNS.len() as u64) as usize];
    let number = (rest / NOUNS.len() as u64) % 1000;
    format!("{adjective}-{noun}-{number:03}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_have_three_parts() {
        for r in [0, 7, u64::MAX, 987_654_321] {
            let name = super::run_name_from_random(r);
            let parts: Vec<_> = name.split('-').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert_eq!(parts[2].len(), 3);
        }
        assert_ne!(super::run_name_from_random(1), super::run_name_from_random(2));
    }
}
