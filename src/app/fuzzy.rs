//! Fuzzy filtering for pickers: the typed characters must appear in order (case-insensitive);
//! contiguous runs and matches at the start of a word rank higher.

/// A score for `candidate` against `pattern`, or `None` when it does not match.
pub fn score(pattern: &str, candidate: &str) -> Option<i64> {
    let cand: Vec<char> = candidate.chars().flat_map(char::to_lowercase).collect();
    let mut score = 0i64;
    let mut pos = 0usize;
    let mut last: Option<usize> = None;
    for p in pattern.chars().flat_map(char::to_lowercase) {
        if p.is_whitespace() {
            continue;
        }
        let found = cand[pos..].iter().position(|&c| c == p)? + pos;
        score += 1;
        if last.is_some_and(|l| l + 1 == found) {
            score += 5;
        }
        if found == 0 || !cand[found - 1].is_alphanumeric() {
            score += 3;
        }
        last = Some(found);
        pos = found + 1;
    }
    Some(score * 100 - cand.len() as i64)
}

/// Indices of `items` matching `pattern`, best first (ties keep the original order).
pub fn filter(pattern: &str, items: &[String]) -> Vec<usize> {
    if pattern.trim().is_empty() {
        return (0..items.len()).collect();
    }
    let mut scored: Vec<(i64, usize)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, s)| score(pattern, s).map(|sc| (sc, i)))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsequence_matches_rank_word_starts_first() {
        let items: Vec<String> = ["INBOX", "Archive", "Projects/Acme", "Trash"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(filter("arc", &items)[0], 1);
        assert_eq!(filter("pa", &items), vec![2]);
        assert!(filter("zzz", &items).is_empty());
        assert_eq!(filter("", &items), vec![0, 1, 2, 3]);
    }
}
