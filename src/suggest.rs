//! "Did you mean" suggestions for misspelled keys, values and references.

/// The candidate closest to `given`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let given_len = given.chars().count();
    // Short values ("1.4") are as close to everything as to anything.
    if given_len < 4 {
        return None;
    }
    let given_lower = given.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let candidate_len = c.chars().count();
        let limit = (candidate_len.max(given_len) / 3).max(1);
        // The distance is at least the difference in length: skip the
        // comparison (quadratic in the lengths) when that alone is too far.
        if candidate_len.abs_diff(given_len) > limit {
            continue;
        }
        let candidate_lower = c.to_ascii_lowercase();
        if bag_distance(&given_lower, &candidate_lower) > limit {
            continue;
        }
        let d = strsim::damerau_levenshtein(&given_lower, &candidate_lower);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// A lower bound of the edit distance (transpositions included): the
/// characters one string has more of than the other, counted on the side
/// with more. Linear, where the distance itself is quadratic; 0 (no bound)
/// for text that is not ASCII.
fn bag_distance(a: &str, b: &str) -> usize {
    if !a.is_ascii() || !b.is_ascii() {
        return 0;
    }
    let mut left = [0u32; 128];
    for c in a.bytes() {
        left[c as usize] += 1;
    }
    // Characters of `b` that `a` does not have (left over in `b`).
    let mut only_b = 0;
    for c in b.bytes() {
        match &mut left[c as usize] {
            0 => only_b += 1,
            n => *n -= 1,
        }
    }
    let only_a = a.len() - (b.len() - only_b);
    only_a.max(only_b)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn bag_distance_never_exceeds_the_edit_distance() {
        let words = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "acb",
            "listeners",
            "listners",
            "limits",
            "limtis",
            "max_connections",
            "maxconnections",
            "allow_anonymous",
            "alow_anonymus",
            "xyzzy",
        ];
        for a in words {
            for b in words {
                assert!(
                    super::bag_distance(a, b) <= strsim::damerau_levenshtein(a, b),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn finds_typos_not_strangers() {
        let keys = ["listeners", "limits", "nodes"];
        assert_eq!(did_you_mean("listners", keys), Some("listeners"));
        assert_eq!(did_you_mean("limts", keys), Some("limits"));
        assert_eq!(did_you_mean("backup", keys), None);
        assert_eq!(did_you_mean("limtis", keys), Some("limits"));
        assert_eq!(super::bag_distance("limtis", "limits"), 0);
        assert_eq!(super::bag_distance("abc", "abd"), 1);
        // Far longer than any candidate: no comparison, no suggestion.
        assert_eq!(did_you_mean(&"listeners".repeat(100_000), keys), None);
    }
}
