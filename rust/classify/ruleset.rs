//! Loading a ruleset: TOML in, checked rules out, as plain data. Nothing is
//! classified with a half-loaded ruleset: the first pattern that does not
//! parse fails the whole load, naming the rule. Compiling the rules into
//! automata is the engine's business (`super::engine::CompiledRuleSet`).

use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use regex_syntax::hir::Hir;
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    name: String,
    pattern: String,
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

#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub ignore_lines: Vec<Pattern>,
    pub ignore_regions: Vec<IgnoreRegion>,
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
            .map(|(index, p)| Pattern::parse(p.clone(), PatternSource::ignore_line(index)))
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
                Ok(Rule {
                    pattern: Pattern::parse(entry.pattern, source)?,
                    name: entry.name,
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let digest = digest(&rules, &ignore_line_patterns, &region_patterns);
        Ok(Self {
            rules,
            ignore_lines,
            ignore_regions,
            digest,
        })
    }
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

/// `text` with every run of white space (line breaks included) as one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A stable hash of what decides a verdict: rules in order and ignore
/// patterns. Comments and formatting of the file do not change it.
fn digest(rules: &[Rule], ignore_lines: &[String], regions: &[(String, String)]) -> String {
    let mut hasher = Sha256::new();
    let mut field = |tag: &str, value: &str| {
        hasher.update(tag.as_bytes());
        hasher.update((value.len() as u64).to_le_bytes());
        hasher.update(value.as_bytes());
    };
    for rule in rules {
        field("rule.name", &rule.name);
        field("rule.pattern", rule.pattern.as_str());
    }
    for pattern in ignore_lines {
        field("ignore.line", pattern);
    }
    for (start, end) in regions {
        field("ignore.region.start", start);
        field("ignore.region.end", end);
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
    fn ignore_table_overrides_the_defaults() {
        let rs = RuleSet::from_toml("[ignore]\nlines = ['^skip']\nregions = []\n").unwrap();
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
}
