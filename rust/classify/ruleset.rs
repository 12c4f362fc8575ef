//! Loading a ruleset: TOML in, checked rules out, as plain data. Nothing is
//! classified with a half-loaded ruleset: the first pattern that does not
//! parse, or that matches every line, fails the whole load, naming the rule. Compiling the rules into
//! automata is the engine's business (`super::engine::CompiledRuleSet`).

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use regex_automata::meta;
use regex_syntax::hir::{Hir, HirKind};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, PatternSource, Result};

/// Lines that every failing step prints but that never say why it failed.
pub const DEFAULT_IGNORE_LINES: &[&str] = &[
    r"^##\[error\]Process completed with exit code \d+\.?$",
    r"\[OSDC\] Step script exited",
    r"^##\[error\]Executing the custom container implementation failed",
    r"^##\[error\]TypeError: Cannot read properties of null \(reading 'jobPod'\)",
    r"\[OSDC\] Step cancelled by GitHub Actions",
];

/// Regions that echo compiler output of earlier, successful builds.
pub const DEFAULT_IGNORE_REGIONS: &[(&str, &str)] = &[(
    r"=================== sccache compilation log ===================",
    r"=========== If your build fails, please take a look at the log above for possible reasons ===========",
)];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSetFile {
    #[serde(default)]
    rule: Vec<RuleEntry>,
    #[serde(default)]
    ignore: IgnoreEntry,
    fallback: Option<FallbackEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FallbackEntry {
    enabled: bool,
    #[serde(default)]
    wrappers: Vec<String>,
    #[serde(default)]
    catch_alls: Vec<String>,
    min_score: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    name: String,
    pattern: String,
    #[serde(default)]
    occurrence: Occurrence,
}

/// Which of the lines a rule matches is its verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Occurrence {
    /// The last: a failure's final report comes after what led up to it.
    /// Upstream's choice, and every rule's unless it says otherwise.
    #[default]
    Last,
    /// The first: a compiler's first error is the cause, and those after it
    /// often follow from it.
    First,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IgnoreEntry {
    lines: Option<Vec<String>>,
    regions: Option<Vec<RegionEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionEntry {
    start: String,
    end: String,
}

#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub pattern: Pattern,
    pub occurrence: Occurrence,
}

/// A pattern parsed once when the ruleset loaded (the engine builds its
/// automata from the parsed form), compiled into its own `Regex` only on
/// first use: classification needs one only for the winning rule's captures
/// (candidate lines are found by the combined automata), and compiling every
/// rule up front was most of the load time.
#[derive(Debug)]
pub struct Pattern {
    text: String,
    hir: Hir,
    regex: OnceLock<Regex>,
}

impl Pattern {
    fn parse(text: String, source: PatternSource) -> Result<Self> {
        let hir = parse_pattern(&text).map_err(|reason| Error::BadPattern {
            what: source,
            reason,
        })?;
        Ok(Self {
            text,
            hir,
            regex: OnceLock::new(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn hir(&self) -> &Hir {
        &self.hir
    }

    /// `Error::BadPattern` when the pattern matches every line
    /// (`EmptyMatches::on_every_line`); `what` says what that does, e.g.
    /// "matches every line".
    fn reject_if_on_every_line(&self, source: PatternSource, what: &str) -> Result<()> {
        if empty_matches(&self.hir).on_every_line() {
            return Err(Error::BadPattern {
                what: source,
                reason: format!("{:?} {what}: it matches the empty string", self.text),
            });
        }
        Ok(())
    }

    pub fn regex(&self) -> &Regex {
        // Cannot fail once `CompiledRuleSet::new` accepted the ruleset (the
        // binding holds no other): the pattern parsed at load, and compiling
        // rejects any pattern too large to compile on its own.
        self.regex.get_or_init(|| {
            Regex::new(&self.text).expect("pattern checked when the ruleset loaded")
        })
    }
}

/// A region of the log to drop: from a line matching `start` through the
/// next line matching `end`, both included.
#[derive(Debug)]
pub struct IgnoreRegion {
    pub start: Pattern,
    pub end: Pattern,
}

/// The `[fallback]` table: when the rule locator runs instead of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    /// Rule names that only report that something else failed (`make: ***`,
    /// a step's exit code): their verdict gives way to a located line.
    pub wrappers: Vec<String>,
    /// Rule names that match any error of a kind (`##[error]...`, any Python
    /// exception): their verdict gives way too.
    pub catch_alls: Vec<String>,
    /// A located line replaces a verdict only when it scores at least this.
    pub min_score: f64,
}

impl Fallback {
    /// Whether a verdict of the rule named `name` may give way to the locator.
    pub fn yields(&self, name: &str) -> bool {
        self.wrappers
            .iter()
            .chain(&self.catch_alls)
            .any(|n| n == name)
    }
}

#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub ignore_lines: Vec<Pattern>,
    pub ignore_regions: Vec<IgnoreRegion>,
    /// `None` without a `[fallback]` table or with `enabled = false`: rules
    /// alone decide, as before the locator existed.
    pub fallback: Option<Fallback>,
    pub digest: String,
}

impl RuleSet {
    pub fn from_toml(text: &str) -> Result<Self> {
        let file: RuleSetFile =
            toml::from_str(text).map_err(|err| Error::RuleSetSyntax(one_line(err.message())))?;
        Self::parse(file)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Every pattern with where it comes from: the ignore lines, each
    /// region's start and end, then the rules in priority order.
    pub fn patterns(&self) -> impl Iterator<Item = (&Pattern, PatternSource)> {
        let lines = self
            .ignore_lines
            .iter()
            .enumerate()
            .map(|(index, p)| (p, PatternSource::ignore_line(index)));
        let regions = self
            .ignore_regions
            .iter()
            .enumerate()
            .flat_map(|(index, r)| {
                [&r.start, &r.end].map(|p| (p, PatternSource::ignore_region(index)))
            });
        let rules = self.rules.iter().enumerate().map(|(index, r)| {
            (
                &r.pattern,
                PatternSource::Rule {
                    index,
                    name: r.name.clone(),
                },
            )
        });
        lines.chain(regions).chain(rules)
    }

    fn parse(file: RuleSetFile) -> Result<Self> {
        if file.rule.is_empty() {
            return Err(Error::RuleSetSyntax(
                "no rules: a ruleset needs at least one [[rule]] table".into(),
            ));
        }
        if let Some(index) = file.rule.iter().position(|r| r.name.trim().is_empty()) {
            return Err(Error::RuleSetSyntax(format!(
                "rule {index} has an empty name"
            )));
        }
        let ignore_line_patterns: Vec<String> = file.ignore.lines.unwrap_or_else(|| {
            DEFAULT_IGNORE_LINES
                .iter()
                .map(|p| (*p).to_owned())
                .collect()
        });
        let region_patterns: Vec<(String, String)> = match file.ignore.regions {
            Some(regions) => regions.into_iter().map(|r| (r.start, r.end)).collect(),
            None => DEFAULT_IGNORE_REGIONS
                .iter()
                .map(|(s, e)| ((*s).to_owned(), (*e).to_owned()))
                .collect(),
        };

        let ignore_lines = ignore_line_patterns
            .iter()
            .enumerate()
            .map(|(index, p)| {
                let source = PatternSource::ignore_line(index);
                let pattern = Pattern::parse(p.clone(), source.clone())?;
                pattern.reject_if_on_every_line(source, "would drop every line")?;
                Ok(pattern)
            })
            .collect::<Result<Vec<_>>>()?;
        let ignore_regions = region_patterns
            .iter()
            .enumerate()
            .map(|(index, (start, end))| {
                let source = PatternSource::ignore_region(index);
                Ok(IgnoreRegion {
                    start: Pattern::parse(start.clone(), source.clone())?,
                    end: Pattern::parse(end.clone(), source)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let rules = file
            .rule
            .into_iter()
            .enumerate()
            .map(|(index, entry)| {
                let source = PatternSource::Rule {
                    index,
                    name: entry.name.clone(),
                };
                let pattern = Pattern::parse(entry.pattern, source.clone())?;
                pattern.reject_if_on_every_line(source, "matches every line")?;
                Ok(Rule {
                    pattern,
                    name: entry.name,
                    occurrence: entry.occurrence,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let fallback = file
            .fallback
            .map(|entry| checked_fallback(entry, &rules))
            .transpose()?
            .flatten();
        let digest = digest(
            &rules,
            &ignore_line_patterns,
            &region_patterns,
            fallback.as_ref(),
        );
        Ok(Self {
            rules,
            ignore_lines,
            ignore_regions,
            fallback,
            digest,
        })
    }
}

/// The `[fallback]` table once checked: every name it lists is a rule's (a
/// misspelt name would silently keep its rule's verdict), and `min_score` is
/// a score. `None` when it is disabled.
fn checked_fallback(entry: FallbackEntry, rules: &[Rule]) -> Result<Option<Fallback>> {
    if !(0.0..=1.0).contains(&entry.min_score) {
        return Err(Error::RuleSetSyntax(format!(
            "fallback.min_score must be between 0 and 1, not {}",
            entry.min_score
        )));
    }
    for (key, names) in [
        ("wrappers", &entry.wrappers),
        ("catch_alls", &entry.catch_alls),
    ] {
        if let Some(unknown) = names.iter().find(|n| !rules.iter().any(|r| &r.name == *n)) {
            return Err(Error::RuleSetSyntax(format!(
                "fallback.{key} names {unknown:?}, which is no rule's name"
            )));
        }
    }
    Ok(entry.enabled.then_some(Fallback {
        wrappers: entry.wrappers,
        catch_alls: entry.catch_alls,
        min_score: entry.min_score,
    }))
}

/// Parses one pattern; a failure comes back as a one-line reason.
pub fn parse_pattern(pattern: &str) -> std::result::Result<Hir, String> {
    // regex-syntax reports a parse error as a kind and a span; the regex
    // crate only as a multi-line drawing, which does not fit a one-line error.
    regex_syntax::Parser::new().parse(pattern).map_err(|err| {
        let reason = match &err {
            regex_syntax::Error::Parse(e) => {
                format!("{} at column {}", e.kind(), e.span().start.column)
            }
            regex_syntax::Error::Translate(e) => {
                format!("{} at column {}", e.kind(), e.span().start.column)
            }
            other => one_line(&other.to_string()),
        };
        format!("{reason} in {pattern:?}")
    })
}

/// A line of ordinary log text, to tell assertions that hold almost anywhere
/// (`^`, `$`, `\B`) from ones that need an empty line (`^$`). It has word and
/// non-word characters next to each other and at both ends.
const ORDINARY_LINE: &str = "error: build failed (exit code 2)";

/// Where a pattern can match the empty string, on the lines the engine reads
/// (one at a time, without their line break).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyMatches {
    /// On an empty line: `^$`, `^\s*$`, and everything `on_text` has.
    pub on_empty_line: bool,
    /// At some position of `ORDINARY_LINE`.
    pub on_text: bool,
}

impl EmptyMatches {
    /// The definition of a pattern that matches every line: it has an empty
    /// match both on an empty line and on a line of ordinary text. An empty
    /// match takes nothing from the line but what its assertions check, so
    /// such a pattern matches (nearly) any line: `x*`, `(a|)`, `^`, `$`, `.*`,
    /// `\B`. `^$` matches only empty lines and is not one; `\b` needs a word
    /// and is not one either.
    pub fn on_every_line(self) -> bool {
        self.on_empty_line && self.on_text
    }
}

pub fn empty_matches(hir: &Hir) -> EmptyMatches {
    if hir.properties().minimum_len() != Some(0) {
        return EmptyMatches {
            on_empty_line: false,
            on_text: false,
        };
    }
    // Matches exactly the empty matches of `hir`, so a search for it finds
    // an empty match wherever one exists, which a search for `hir` (which
    // prefers longer matches where it can) would not tell.
    let empty = only_empty_matches(hir);
    let regex = meta::Regex::builder()
        .build_from_hir(&empty)
        .expect("an automaton of assertions only is small");
    EmptyMatches {
        on_empty_line: regex.is_match(""),
        on_text: regex.is_match(ORDINARY_LINE),
    }
}

/// The part of `hir` that matches the empty string: every literal and class
/// fails, a repetition that may repeat zero times is empty, assertions stay.
fn only_empty_matches(hir: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(_) | HirKind::Class(_) => Hir::fail(),
        HirKind::Look(look) => Hir::look(*look),
        HirKind::Repetition(rep) if rep.min == 0 => Hir::empty(),
        HirKind::Repetition(rep) => only_empty_matches(&rep.sub),
        HirKind::Capture(cap) => only_empty_matches(&cap.sub),
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(only_empty_matches).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(only_empty_matches).collect())
        }
    }
}

/// `text` with every run of white space (line breaks included) as one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stable hash of what decides a verdict: rules in order, ignore patterns
/// and the fallback. Comments and formatting of the file do not change it.
fn digest(
    rules: &[Rule],
    ignore_lines: &[String],
    regions: &[(String, String)],
    fallback: Option<&Fallback>,
) -> String {
    let mut hasher = Sha256::new();
    let mut field = |tag: &str, value: &str| {
        hasher.update(tag.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    };
    for rule in rules {
        field("rule.name", &rule.name);
        field("rule.pattern", rule.pattern.as_str());
        // Only when set, so that every ruleset written before the option
        // keeps its digest.
        if rule.occurrence == Occurrence::First {
            field("rule.occurrence", "first");
        }
    }
    for pattern in ignore_lines {
        field("ignore.line", pattern);
    }
    for (start, end) in regions {
        field("ignore.region.start", start);
        field("ignore.region.end", end);
    }
    if let Some(fallback) = fallback {
        for name in &fallback.wrappers {
            field("fallback.wrapper", name);
        }
        for name in &fallback.catch_alls {
            field("fallback.catch_all", name);
        }
        field("fallback.min_score", &fallback.min_score.to_string());
    }
    let hash = hasher.finalize();
    hash[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_rules_in_priority_order_with_default_ignores() {
        let rs = RuleSet::from_toml(
            "[[rule]]\nname = 'a'\npattern = 'x'\n[[rule]]\nname = 'b'\npattern = 'y'\n",
        )
        .unwrap();
        let names: Vec<_> = rs.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(rs.ignore_lines.len(), DEFAULT_IGNORE_LINES.len());
        assert_eq!(rs.ignore_regions.len(), 1);
    }

    #[test]
    fn occurrence_is_first_or_last_and_only_first_changes_the_digest() {
        let rule = |extra: &str| format!("[[rule]]\nname = 'a'\npattern = 'x'\n{extra}");
        let plain = RuleSet::from_toml(&rule("")).unwrap();
        let last = RuleSet::from_toml(&rule("occurrence = 'last'\n")).unwrap();
        let first = RuleSet::from_toml(&rule("occurrence = 'first'\n")).unwrap();
        assert_eq!(plain.rules[0].occurrence, Occurrence::Last);
        assert_eq!(first.rules[0].occurrence, Occurrence::First);
        assert_eq!(plain.digest, last.digest);
        assert_ne!(plain.digest, first.digest);
        let err = RuleSet::from_toml(&rule("occurrence = 'middle'\n")).unwrap_err();
        assert!(matches!(err, Error::RuleSetSyntax(_)), "{err}");
    }

    #[test]
    fn ignore_table_overrides_the_defaults() {
        let rs = RuleSet::from_toml(
            "[[rule]]\nname = 'a'\npattern = 'x'\n[ignore]\nlines = ['^skip']\nregions = []\n",
        )
        .unwrap();
        assert_eq!(rs.ignore_lines.len(), 1);
        assert!(rs.ignore_regions.is_empty());
    }

    #[test]
    fn bad_rule_names_index_name_and_reason() {
        let err = RuleSet::from_toml(
            "[[rule]]\nname = 'ok'\npattern = 'x'\n[[rule]]\nname = 'broken'\npattern = 'a(b'\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            r#"invalid ruleset: rule 1 ("broken"): unclosed group at column 2 in "a(b""#
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = RuleSet::from_toml("[[rule]]\nname = 'a'\npatern = 'x'\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("invalid ruleset: unknown field `patern`"),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    #[test]
    fn digest_ignores_comments_but_not_order() {
        let a = RuleSet::from_toml(
            "[[rule]]\nname = 'a'\npattern = 'x'\n[[rule]]\nname = 'b'\npattern = 'y'\n",
        )
        .unwrap();
        let b = RuleSet::from_toml(
            "# c\n[[rule]]\nname = \"a\"\npattern = 'x'\n\n[[rule]]\nname = 'b'\npattern = 'y'\n",
        )
        .unwrap();
        let c = RuleSet::from_toml(
            "[[rule]]\nname = 'b'\npattern = 'y'\n[[rule]]\nname = 'a'\npattern = 'x'\n",
        )
        .unwrap();
        assert_eq!(a.digest, b.digest);
        assert_ne!(a.digest, c.digest);
        assert_eq!(a.digest.len(), 16);
    }

    const TWO_RULES: &str =
        "[[rule]]\nname = 'a'\npattern = 'x'\n[[rule]]\nname = 'b'\npattern = 'y'\n";

    #[test]
    fn fallback_table_is_read_checked_and_digested() {
        let plain = RuleSet::from_toml(TWO_RULES).unwrap();
        assert_eq!(plain.fallback, None);
        let with = |table: &str| RuleSet::from_toml(&format!("{TWO_RULES}[fallback]\n{table}"));
        let on = with("enabled = true\nwrappers = ['a']\ncatch_alls = ['b']\nmin_score = 0.5\n")
            .unwrap();
        let fallback = on.fallback.as_ref().unwrap();
        assert!(fallback.yields("a") && fallback.yields("b") && !fallback.yields("c"));
        assert_ne!(on.digest, plain.digest);
        let other_score = with("enabled = true\nwrappers = ['a']\nmin_score = 0.6\n").unwrap();
        assert_ne!(other_score.digest, on.digest);
        let off = with("enabled = false\nwrappers = ['a']\nmin_score = 0.5\n").unwrap();
        assert_eq!((off.fallback, off.digest), (None, plain.digest));
        let err = |table: &str| with(table).unwrap_err().to_string();
        assert_eq!(
            err("enabled = true\nwrappers = ['nope']\nmin_score = 0.5\n"),
            r#"invalid ruleset: fallback.wrappers names "nope", which is no rule's name"#
        );
        assert_eq!(
            err("enabled = true\nmin_score = 1.5\n"),
            "invalid ruleset: fallback.min_score must be between 0 and 1, not 1.5"
        );
        assert!(err("enabled = true\n").contains("missing field `min_score`"));
    }

    fn load_error(toml: &str) -> String {
        RuleSet::from_toml(toml).unwrap_err().to_string()
    }

    #[test]
    fn patterns_that_match_every_line_do_not_load() {
        for pattern in [
            "",
            "x*",
            "(a|)",
            "^",
            "$",
            ".*",
            r"\B",
            r"(?:\d+|^)",
            r"(?m)^\s*",
        ] {
            let err = load_error(&format!(
                "[[rule]]\nname = 'ok'\npattern = 'x'\n[[rule]]\nname = 'any'\npattern = '{pattern}'\n"
            ));
            assert_eq!(
                err,
                format!(
                    "invalid ruleset: rule 1 (\"any\"): {pattern:?} matches every line: it matches the empty string"
                )
            );
        }
    }

    #[test]
    fn patterns_that_need_something_of_the_line_load() {
        for pattern in [
            "^$",
            r"^\s*$",
            r"\b",
            r"x?y",
            r"(?:^|\s)error",
            r"^\d*$",
            "a{0}b",
        ] {
            let toml = format!("[[rule]]\nname = 'r'\npattern = '{pattern}'\n");
            assert!(RuleSet::from_toml(&toml).is_ok(), "{pattern}");
        }
        let classes = |pattern: &str| {
            let matches = empty_matches(&parse_pattern(pattern).unwrap());
            (matches.on_empty_line, matches.on_text)
        };
        assert_eq!(classes("^$"), (true, false));
        assert_eq!(classes(r"\b"), (false, true));
        assert_eq!(classes("x"), (false, false));
    }

    #[test]
    fn an_ignore_pattern_that_drops_every_line_does_not_load() {
        let err =
            load_error("[[rule]]\nname = 'a'\npattern = 'x'\n[ignore]\nlines = ['^skip', '']\n");
        assert_eq!(
            err,
            r#"invalid ruleset: ignore.lines[1]: "" would drop every line: it matches the empty string"#
        );
    }

    #[test]
    fn a_ruleset_needs_rules_with_names() {
        for toml in ["", "# nothing\n", "[ignore]\nlines = ['^skip']\n"] {
            assert_eq!(
                load_error(toml),
                "invalid ruleset: no rules: a ruleset needs at least one [[rule]] table"
            );
        }
        for name in ["", "  "] {
            let toml = format!(
                "[[rule]]\nname = 'a'\npattern = 'x'\n[[rule]]\nname = '{name}'\npattern = 'y'\n"
            );
            assert_eq!(
                load_error(&toml),
                "invalid ruleset: rule 1 has an empty name"
            );
        }
    }
}
