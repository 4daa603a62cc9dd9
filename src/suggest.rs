//! "Did you mean" suggestions for misspelled keys, values and references.

/// The candidate closest to `given`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Short values ("1.4") are as close to everything as to anything.
    if given.chars().count() < 4 {
        return None;
    }
    let given_lower = given.to_ascii_lowercase();
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(&given_lower, &c.to_ascii_lowercase());
        let limit = (c.chars().count().max(given.chars().count()) / 3).max(1);
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
    }
}
