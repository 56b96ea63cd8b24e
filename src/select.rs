//! Rule selection on the command line, as ruff has it: `--select`,
//! `--extend-select`, `--ignore` and `--warn` each take rule selectors — an
//! id (`PG105`), a name (`image-not-pinned`), a prefix of ids (`PG1`) or
//! `ALL` — in any case, comma-separated or repeated.
//!
//! They apply after planguard.toml's `[rules]`: `--select` keeps only the
//! rules it matches among those `[rules]` leaves on, `--extend-select` adds
//! to them, `--ignore` takes away, `--warn` reports what it matches as
//! warnings. A rule named exactly (id or name, not a prefix) in `--select`
//! or `--extend-select` runs even when `[rules]` turns it off.

use crate::diagnostic::Severity;
use crate::rules;

/// One selector as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    text: String,
}

impl Selector {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.trim().to_string(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn is_all(&self) -> bool {
        self.text.eq_ignore_ascii_case("ALL")
    }

    /// Names `rule` exactly: its id, or the name of the built-in rule with that id.
    pub fn names(&self, rule: &str) -> bool {
        self.text.eq_ignore_ascii_case(rule)
            || rules::by_code(rule).is_some_and(|r| r.name.eq_ignore_ascii_case(&self.text))
    }

    /// Matches `rule` (an id, built-in or a user policy's).
    pub fn matches(&self, rule: &str) -> bool {
        self.is_all()
            || self.names(rule)
            || (rule.len() >= self.text.len()
                && rule.is_char_boundary(self.text.len())
                && rule[..self.text.len()].eq_ignore_ascii_case(&self.text))
    }

    /// Matches at least one built-in rule.
    fn matches_builtin(&self) -> bool {
        rules::ALL.iter().any(|r| self.matches(r.code))
    }
}

/// The selectors of one run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub select: Option<Vec<Selector>>,
    pub extend_select: Vec<Selector>,
    pub ignore: Vec<Selector>,
    pub warn: Vec<Selector>,
}

impl Selection {
    /// Whether nothing was given.
    pub fn is_empty(&self) -> bool {
        self.select.is_none()
            && self.extend_select.is_empty()
            && self.ignore.is_empty()
            && self.warn.is_empty()
    }

    /// The severity a finding of `rule` gets: `configured` is what
    /// planguard.toml says (None: no entry; Some(None): off).
    pub fn severity(
        &self,
        rule: &str,
        configured: Option<Option<Severity>>,
        default: Severity,
    ) -> Option<Severity> {
        let any = |selectors: &[Selector]| selectors.iter().any(|s| s.matches(rule));
        let named = |selectors: &[Selector]| selectors.iter().any(|s| s.names(rule));
        let on_in_settings = !matches!(configured, Some(None));
        let selected = match &self.select {
            Some(select) => (on_in_settings && any(select)) || named(select),
            None => on_in_settings,
        };
        let on = (selected
            || named(&self.extend_select)
            || (on_in_settings && any(&self.extend_select)))
            && !any(&self.ignore);
        if !on {
            return None;
        }
        if any(&self.warn) {
            return Some(Severity::Warning);
        }
        Some(configured.flatten().unwrap_or(default))
    }

    /// Selectors that match no built-in rule, with a suggestion each: an
    /// error unless user policies may report such ids.
    pub fn unknown(&self) -> Vec<String> {
        let flags = [
            ("--select", self.select.as_deref().unwrap_or_default()),
            ("--extend-select", &self.extend_select[..]),
            ("--ignore", &self.ignore[..]),
            ("--warn", &self.warn[..]),
        ];
        let mut unknown = Vec::new();
        for (flag, selectors) in flags {
            for selector in selectors.iter().filter(|s| !s.matches_builtin()) {
                let known = rules::ALL.iter().flat_map(|r| [r.code, r.name]);
                let hint = match crate::suggest::closest(selector.as_str(), known) {
                    Some(near) => format!("; did you mean `{near}`?"),
                    None => "; `planguard rules` lists the built-in rules".to_string(),
                };
                unknown.push(format!(
                    "{flag} `{}` matches no built-in rule{hint}",
                    selector.as_str()
                ));
            }
        }
        unknown
    }
}

/// The selectors of a repeatable, comma-separated flag.
pub fn parse(values: &[String]) -> Vec<Selector> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|s| !s.trim().is_empty())
        .map(Selector::new)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(items: &[&str]) -> Vec<Selector> {
        items.iter().map(|s| Selector::new(s)).collect()
    }

    #[test]
    fn selectors_match_ids_names_and_prefixes_in_any_case() {
        for selector in [
            "PG105",
            "pg105",
            "image-not-pinned",
            "IMAGE-NOT-PINNED",
            "PG1",
            "pg10",
            "ALL",
            "all",
        ] {
            assert!(Selector::new(selector).matches("PG105"), "{selector}");
        }
        for selector in ["PG2", "PG1050", "image", "PG106"] {
            assert!(!Selector::new(selector).matches("PG105"), "{selector}");
        }
        assert!(Selector::new("K8S").matches("k8s001"));
    }

    #[test]
    fn select_extend_ignore_and_warn_compose_over_the_settings() {
        let error = Severity::Error;
        let only = Selection {
            select: Some(sel(&["PG1"])),
            ..Selection::default()
        };
        assert_eq!(only.severity("PG105", None, error), Some(error));
        assert_eq!(only.severity("PG202", None, error), None);
        // A prefix keeps a rule planguard.toml turns off off; its id turns it on.
        assert_eq!(only.severity("PG105", Some(None), error), None);
        let named = Selection {
            select: Some(sel(&["pg105"])),
            ..Selection::default()
        };
        assert_eq!(named.severity("PG105", Some(None), error), Some(error));

        let mixed = Selection {
            select: Some(sel(&["PG1"])),
            extend_select: sel(&["PG202"]),
            ignore: sel(&["PG105"]),
            warn: sel(&["PG101"]),
        };
        assert_eq!(mixed.severity("PG202", None, error), Some(error));
        assert_eq!(mixed.severity("PG105", None, error), None);
        assert_eq!(
            mixed.severity("PG101", None, error),
            Some(Severity::Warning)
        );
        assert_eq!(
            mixed.severity("PG103", Some(Some(Severity::Info)), error),
            Some(Severity::Info)
        );
        assert_eq!(
            Selection::default().severity("PG105", Some(None), error),
            None
        );
    }

    #[test]
    fn unknown_selectors_are_named_with_a_suggestion() {
        let selection = Selection {
            select: Some(sel(&["PG9"])),
            ignore: sel(&["image-not-pined", "PG1"]),
            ..Selection::default()
        };
        let unknown = selection.unknown();
        assert_eq!(unknown.len(), 2, "{unknown:?}");
        assert!(unknown[0].starts_with("--select `PG9` matches no built-in rule"));
        assert!(
            unknown[1].contains("did you mean `image-not-pinned`?"),
            "{unknown:?}"
        );
    }
}
