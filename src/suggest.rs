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
        let d = strsim::damerau_levenshtein(&given_lower, &c.to_ascii_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn finds_typos_not_strangers() {
        let keys = ["listeners", "limits", "nodes"];
        assert_eq!(did_you_mean("listners", keys), Some("listeners"));
        assert_eq!(did_you_mean("limts", keys), Some("limits"));
        assert_eq!(did_you_mean("backup", keys), None);
        // Far longer than any candidate: no comparison, no suggestion.
        assert_eq!(did_you_mean(&"listeners".repeat(100_000), keys), None);
    }
}
