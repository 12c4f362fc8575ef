//! Static checks of a ruleset's patterns, for `logsorter rules check`: what
//! cannot compile, what can never win, what is slow, and what does not do
//! what it looks like it does once matches are confined to one line.

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::prefilter::{line_literals, MIN_LITERAL_LEN};
use super::ruleset::{empty_matches, parse_pattern};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The rule is broken or can never be the verdict.
    Error,
    /// The rule works, but likely not as its author meant, or slowly.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Position of the rule in priority order.
    pub index: usize,
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
}

/// Lints `(name, pattern)` rules in priority order; findings come out in
/// rule order.
pub fn lint_rules(rules: &[(String, String)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut earlier: Vec<(usize, &str, Option<Hir>)> = Vec::with_capacity(rules.len());
    for (index, (name, pattern)) in rules.iter().enumerate() {
        let mut report = |severity, code, message: String| {
            findings.push(Finding {
                index,
                severity,
                code,
                message,
            })
        };
        if let Some((first, ..)) = earlier.iter().find(|(i, ..)| rules[*i].0 == *name) {
            report(
                Severity::Warning,
                "duplicate-name",
                format!("rule {first} has the same name"),
            );
        }
        let hir = match parse_pattern(pattern) {
            Ok(hir) => hir,
            Err(reason) => {
                report(Severity::Error, "invalid-pattern", reason);
                earlier.push((index, name, None));
                continue;
            }
        };
        if let Some((first, first_name, _)) = earlier.iter().find(|(i, ..)| rules[*i].1 == *pattern)
        {
            report(
                Severity::Error,
                "duplicate-pattern",
                format!("same pattern as rule {first} ({first_name})"),
            );
        } else if let Some((first, first_name, _)) = earlier
            .iter()
            .find(|(_, _, e)| e.as_ref().is_some_and(|e| shadows(e, &hir)))
        {
            let broader = &rules[*first].1;
            report(
                Severity::Error,
                "shadowed",
                format!("every line it matches also matches rule {first} ({first_name}, {broader:?}), which comes first"),
            );
        }
        let empty = empty_matches(&hir);
        if empty.on_every_line() {
            report(
                Severity::Error,
                "matches-every-line",
                "it matches the empty string on any line, so it is the verdict of every log it reaches".into(),
            );
        } else if empty.on_empty_line {
            report(
                Severity::Warning,
                "matches-empty-line",
                "it matches empty lines: the last empty line of a log is the verdict unless an earlier rule matches".into(),
            );
        }
        if line_literals(&hir).is_none() {
            report(
                Severity::Warning,
                "no-literal",
                format!("no literal text of {MIN_LITERAL_LEN}+ bytes that every match contains; it is tried on every line (slow)"),
            );
        }
        let crossing = count_line_break_classes(&hir);
        if crossing > 0 {
            report(
                Severity::Warning,
                "class-matches-newline",
                format!(
                    "{crossing} character class(es) include a line break (like \\s or [^x]); matches are confined \
                     to one line, so they never match one"
                ),
            );
        }
        earlier.push((index, name, Some(hir)));
    }
    findings
}

/// Whether every line `later` matches is surely matched by `earlier` too: an
/// earlier pattern that is one literal (anywhere in the line, or at its start)
/// which the later pattern's every match must contain (or start with).
fn shadows(earlier: &Hir, later: &Hir) -> bool {
    let Some((needle, anchored)) = pure_literal(earlier) else {
        return false;
    };
    if anchored && !starts_anchored(later) {
        return false;
    }
    let prefixes = Extractor::new().kind(ExtractKind::Prefix).extract(later);
    let Some(literals) = prefixes.literals() else {
        return false;
    };
    !literals.is_empty()
        && literals.iter().all(|lit| {
            let bytes = lit.as_bytes();
            if anchored {
                bytes.starts_with(needle)
            } else {
                bytes.windows(needle.len().max(1)).any(|w| w == needle)
            }
        })
}

/// `abc` as `(b"abc", false)` and `^abc` as `(b"abc", true)`; anything else
/// is not a pure literal.
fn pure_literal(hir: &Hir) -> Option<(&[u8], bool)> {
    match hir.kind() {
        HirKind::Literal(lit) => Some((&lit.0, false)),
        HirKind::Concat(subs) => match subs.as_slice() {
            [first, second] if is_start_anchor(first) => match second.kind() {
                HirKind::Literal(lit) => Some((&lit.0, true)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn is_start_anchor(hir: &Hir) -> bool {
    matches!(
        hir.kind(),
        HirKind::Look(Look::Start | Look::StartLF | Look::StartCRLF)
    )
}

/// Whether every match starts at the start of the line. Line-start anchors
/// count: the engine matches each line on its own.
fn starts_anchored(hir: &Hir) -> bool {
    let prefix = hir.properties().look_set_prefix();
    prefix.contains(Look::Start)
        || prefix.contains(Look::StartLF)
        || prefix.contains(Look::StartCRLF)
}

fn count_line_break_classes(hir: &Hir) -> usize {
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => usize::from(
            c.ranges()
                .iter()
                .any(|r| r.start() <= '\n' && '\n' <= r.end()),
        ),
        HirKind::Class(Class::Bytes(c)) => usize::from(
            c.ranges()
                .iter()
                .any(|r| r.start() <= b'\n' && b'\n' <= r.end()),
        ),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_) => 0,
        HirKind::Capture(cap) => count_line_break_classes(&cap.sub),
        HirKind::Repetition(rep) => count_line_break_classes(&rep.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().map(count_line_break_classes).sum()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::ruleset::RuleSet;

    fn lint(rules: &[(&str, &str)]) -> Vec<(usize, &'static str)> {
        let rules: Vec<(String, String)> = rules
            .iter()
            .map(|(n, p)| ((*n).to_owned(), (*p).to_owned()))
            .collect();
        lint_rules(&rules)
            .into_iter()
            .map(|f| (f.index, f.code))
            .collect()
    }

    #[test]
    fn clean_rules_have_no_findings() {
        assert_eq!(
            lint(&[
                ("a", r"^FAILED (\S+)"),
                ("b", r"^error: (.*)"),
                ("c", "(?i)rate limit")
            ]),
            []
        );
    }

    #[test]
    fn invalid_pattern_is_an_error_and_later_rules_are_still_checked() {
        let rules = [
            ("bad".to_owned(), "a(b".to_owned()),
            ("x".to_owned(), r"\s+okay".to_owned()),
        ];
        let findings = lint_rules(&rules);
        assert_eq!(findings[0].code, "invalid-pattern");
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(
            findings[0].message.contains("unclosed group"),
            "{}",
            findings[0].message
        );
        assert!(!findings[0].message.contains('\n'));
        assert_eq!(findings[1].index, 1);
        assert_eq!(findings[1].code, "class-matches-newline");
    }

    #[test]
    fn duplicate_pattern_names_the_first_rule() {
        let rules = [
            ("a".to_owned(), "^boom".to_owned()),
            ("b".to_owned(), "xyz".to_owned()),
            ("c".to_owned(), "^boom".to_owned()),
        ];
        let findings = lint_rules(&rules);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].index, findings[0].code),
            (2, "duplicate-pattern")
        );
        assert_eq!(findings[0].message, "same pattern as rule 0 (a)");
    }

    #[test]
    fn anchored_literal_shadows_patterns_that_start_with_it() {
        assert_eq!(
            lint(&[("a", "^FAILED"), ("b", r"^FAILED: (\S+)")]),
            [(1, "shadowed")]
        );
        assert_eq!(
            lint(&[("a", "^FAILED"), ("b", r"(?m)^(?:FAILED: x|FAILED! y)")]),
            [(1, "shadowed")]
        );
        // Not anchored, or not the same start: both can win.
        assert_eq!(lint(&[("a", "^FAILED"), ("b", r"FAILED: (\S+)")]), []);
        assert_eq!(
            lint(&[("a", "^FAILED"), ("b", r"^(?:FAILED|ERROR): (\S+)")]),
            []
        );
        // A later, broader rule is not shadowed by a narrower earlier one.
        assert_eq!(lint(&[("a", r"^FAILED: (\S+)"), ("b", "^FAILED")]), []);
    }

    #[test]
    fn unanchored_literal_shadows_patterns_that_contain_it() {
        assert_eq!(
            lint(&[("a", "Killed"), ("b", r"^Killed process (\d+)")]),
            [(1, "shadowed")]
        );
        assert_eq!(lint(&[("a", "Killed"), ("b", r"^(?i)killed")]), []);
        assert_eq!(lint(&[("a", "Killed"), ("b", r"^\d+ Killed")]), []);
    }

    #[test]
    fn patterns_without_literal_text_are_slow() {
        assert_eq!(lint(&[("a", r"^\w+$")]), [(0, "no-literal")]);
        assert_eq!(lint(&[("a", r"(?:x|\d+)")]), [(0, "no-literal")]);
        assert_eq!(lint(&[("a", r"^\w+ (?:error|fail)ed")]), []);
        assert_eq!(lint(&[("a", r"^_{3,} \w+")]), []);
    }

    #[test]
    fn literals_too_short_for_the_prefilter_are_slow() {
        assert_eq!(lint(&[("a", r"^ab\d+$")]), [(0, "no-literal")]);
        assert_eq!(lint(&[("a", r"^abc\d+$")]), []);
    }

    #[test]
    fn no_literal_is_exactly_what_the_prefilter_cannot_search_for() {
        let ruleset = RuleSet::from_toml(include_str!("../../python/logsorter/ruleset.toml"))
            .expect("the default ruleset loads");
        let rules: Vec<(String, String)> = ruleset
            .rules
            .iter()
            .map(|r| (r.name.clone(), r.pattern.as_str().to_owned()))
            .collect();
        let warned: Vec<usize> = lint_rules(&rules)
            .into_iter()
            .filter(|f| f.code == "no-literal")
            .map(|f| f.index)
            .collect();
        let unsearched: Vec<usize> = (0..ruleset.rules.len())
            .filter(|&i| line_literals(ruleset.rules[i].pattern.hir()).is_none())
            .collect();
        assert_eq!(warned, unsearched);
    }

    #[test]
    fn classes_that_contain_a_line_break_are_counted() {
        let rules = [("a".to_owned(), r"^xxx\s+yyy[^']*zzz(?s:.)".to_owned())];
        let findings = lint_rules(&rules);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.starts_with("3 character class(es)"),
            "{}",
            findings[0].message
        );
        assert_eq!(lint(&[("a", r"^xxx\S+ [^\s:]+ .*")]), []);
    }

    #[test]
    fn duplicate_names_are_a_warning() {
        let rules = [
            ("a".to_owned(), "^x12".to_owned()),
            ("a".to_owned(), "^y23".to_owned()),
        ];
        let findings = lint_rules(&rules);
        assert_eq!(findings.len(), 1);
        assert_eq!(
            (findings[0].code, findings[0].severity),
            ("duplicate-name", Severity::Warning)
        );
    }

    #[test]
    fn matching_every_line_is_an_error_and_empty_lines_a_warning() {
        assert_eq!(
            lint(&[("a", "x*")]),
            [(0, "matches-every-line"), (0, "no-literal")]
        );
        assert_eq!(
            lint(&[("a", "^$")]),
            [(0, "matches-empty-line"), (0, "no-literal")]
        );
        assert_eq!(
            lint(&[("a", r"^(?:=+|\s*)$")])[0],
            (0, "matches-empty-line")
        );
        assert_eq!(lint(&[("a", "^error:( .*)?$")]), []);
    }
}
