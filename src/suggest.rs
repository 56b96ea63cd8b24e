//! "Did you mean": the closest of the known names to a misspelt one.

/// The known name closest to `given`, when it is near enough to be a
/// misspelling (at most two edits, or a quarter of the name's length).
pub fn closest<'a, I>(given: &str, known: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let given = given.to_ascii_lowercase();
    known
        .into_iter()
        .map(|name| {
            (
                strsim::levenshtein(&given, &name.to_ascii_lowercase()),
                name,
            )
        })
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 4))
        .min()
        .map(|(_, name)| name)
}

/// [`closest`], and whether it is the only known name that near (a tie
/// makes a rename a guess).
pub fn closest_unique<'a, I>(given: &str, known: I) -> Option<(&'a str, bool)>
where
    I: IntoIterator<Item = &'a str>,
{
    let lowered = given.to_ascii_lowercase();
    let mut near: Vec<(usize, &'a str)> = known
        .into_iter()
        .map(|name| {
            (
                strsim::levenshtein(&lowered, &name.to_ascii_lowercase()),
                name,
            )
        })
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 4))
        .collect();
    near.sort();
    let (distance, name) = *near.first()?;
    Some((name, near.get(1).is_none_or(|(d, _)| *d > distance)))
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_a_near_name_and_nothing_for_a_far_one() {
        let known = ["timezone", "jitter", "cron"];
        assert_eq!(closest("timezon", known), Some("timezone"));
        assert_eq!(closest("TIMEZONE", known), Some("timezone"));
        assert_eq!(closest("xyz", known), None);
    }

    #[test]
    fn a_tie_is_not_unique() {
        assert_eq!(
            super::closest_unique("timezon", ["timezone", "jitter"]),
            Some(("timezone", true))
        );
        assert_eq!(
            super::closest_unique("cat", ["bat", "hat"]),
            Some(("bat", false))
        );
    }
}
