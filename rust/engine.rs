//! Classification in one pass. Every pattern (ignore lines, ignore regions and
//! rules) goes into one multi-pattern automaton that runs over the whole
//! normalized buffer to find candidate lines; only those lines are then
//! checked pattern by pattern. A log where nothing matches is read once.

use regex::{Regex, RegexSet};
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
use regex_syntax::hir::{Hir, HirKind, Look};

use crate::error::{Error, Result};
use crate::normalize::NormalizedLog;
use crate::ruleset::{IgnoreRegion, Rule, RuleSet};

pub const DEFAULT_CONTEXT_DEPTH: usize = 12;

/// The verdict of one rule on one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Position of the rule in priority order.
    pub rule_index: usize,
    pub rule: String,
    /// The matched line, normalized.
    pub line: String,
    /// 1-based line number in the original log.
    pub line_num: usize,
    pub captures: Vec<String>,
    /// The nearest kept lines starting with `+` (shell trace of the commands
    /// that ran), walking back from the matched line, nearest first.
    pub context: Vec<String>,
}

/// The compiled automata shared by every classification with a ruleset.
#[derive(Debug)]
pub(crate) struct Scanner {
    /// Finds lines where any pattern matches, over the whole buffer at once.
    candidates: meta::Regex,
    /// Tells which patterns match one candidate line.
    per_line: RegexSet,
    layout: PatternLayout,
}

/// Pattern ids of the automata: ignore lines, then each region's start and
/// end, then the rules in priority order.
#[derive(Debug, Clone, Copy)]
struct PatternLayout {
    ignore_lines: usize,
    regions: usize,
}

impl PatternLayout {
    fn region_start(&self, region: usize) -> usize {
        self.ignore_lines + 2 * region
    }
    fn region_end(&self, region: usize) -> usize {
        self.region_start(region) + 1
    }
    fn first_rule(&self) -> usize {
        self.ignore_lines + 2 * self.regions
    }
}

impl Scanner {
    pub(crate) fn new(
        ignore_lines: &[Regex],
        regions: &[IgnoreRegion],
        rules: &[Rule],
    ) -> Result<Self> {
        let patterns: Vec<&str> = ignore_lines
            .iter()
            .chain(regions.iter().flat_map(|r| [&r.start, &r.end]))
            .chain(rules.iter().map(|r| &r.regex))
            .map(Regex::as_str)
            .collect();
        let hirs = patterns
            .iter()
            .map(|p| regex_syntax::Parser::new().parse(p).map(confine_to_line))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|err| Error::TooBig(err.to_string()))?;
        let candidates = meta::Regex::builder()
            .configure(
                meta::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .nfa_size_limit(Some(64 << 20))
                    .hybrid_cache_capacity(64 << 20),
            )
            .syntax(syntax::Config::new())
            .build_many_from_hir(&hirs)
            .map_err(|err| {
                Error::TooBig(format!(
                    "the rules together are too large to compile: {err}"
                ))
            })?;
        let per_line = RegexSet::new(&patterns).map_err(|err| {
            Error::TooBig(format!(
                "the rules together are too large to compile: {err}"
            ))
        })?;
        let layout = PatternLayout {
            ignore_lines: ignore_lines.len(),
            regions: regions.len(),
        };
        Ok(Self {
            candidates,
            per_line,
            layout,
        })
    }
}

/// Rewrites a pattern so that, run over the whole buffer, it can only match
/// within one line, exactly where it would match that line on its own:
/// classes lose `\n`, a literal `\n` can never match, and text anchors become
/// line anchors.
fn confine_to_line(hir: Hir) -> Hir {
    match hir.into_kind() {
        HirKind::Class(Class::Unicode(mut class)) => {
            class.difference(&ClassUnicode::new([ClassUnicodeRange::new('\n', '\n')]));
            Hir::class(Class::Unicode(class))
        }
        HirKind::Class(Class::Bytes(mut class)) => {
            class.difference(&ClassBytes::new([ClassBytesRange::new(b'\n', b'\n')]));
            Hir::class(Class::Bytes(class))
        }
        HirKind::Literal(lit) if lit.0.contains(&b'\n') => Hir::fail(),
        HirKind::Look(Look::Start) => Hir::look(Look::StartLF),
        HirKind::Look(Look::End) => Hir::look(Look::EndLF),
        HirKind::Repetition(mut rep) => {
            rep.sub = Box::new(confine_to_line(*rep.sub));
            Hir::repetition(rep)
        }
        HirKind::Capture(mut cap) => {
            cap.sub = Box::new(confine_to_line(*cap.sub));
            Hir::capture(cap)
        }
        HirKind::Concat(subs) => Hir::concat(subs.into_iter().map(confine_to_line).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.into_iter().map(confine_to_line).collect())
        }
        kind @ (HirKind::Empty | HirKind::Literal(_) | HirKind::Look(_)) => match kind {
            HirKind::Empty => Hir::empty(),
            HirKind::Literal(lit) => Hir::literal(lit.0),
            HirKind::Look(look) => Hir::look(look),
            _ => unreachable!("matched above"),
        },
    }
}

/// Which lines survive the ignore patterns.
#[derive(Debug, Default)]
pub(crate) struct KeptLines {
    /// Lines matching an ignore-line pattern, ascending.
    ignored: Vec<usize>,
    /// Dropped regions as inclusive line ranges, ascending; an unterminated
    /// region runs to the end of the log.
    regions: Vec<(usize, usize)>,
}

impl KeptLines {
    pub(crate) fn is_kept(&self, line: usize) -> bool {
        let in_region = {
            let after = self.regions.partition_point(|&(start, _)| start <= line);
            after > 0 && self.regions[after - 1].1 >= line
        };
        !in_region && self.ignored.binary_search(&line).is_err()
    }
}

/// Tracks ignore regions line by line, in order; shared by the one-pass
/// engine and the naive scan so both drop exactly the same lines.
#[derive(Debug, Default)]
pub(crate) struct RegionTracker {
    open: Option<(usize, usize)>,
    kept: KeptLines,
}

impl RegionTracker {
    /// Feeds one line that may start or end a region (lines that cannot,
    /// cannot change the state, so they need not be fed). Returns whether the
    /// line is kept.
    pub(crate) fn feed(
        &mut self,
        line: usize,
        ignored: bool,
        starts: Option<usize>,
        ends: impl Fn(usize) -> bool,
    ) -> bool {
        if ignored {
            self.kept.ignored.push(line);
            return false;
        }
        match self.open {
            Some((first, region)) => {
                if ends(region) {
                    self.kept.regions.push((first, line));
                    self.open = None;
                }
                false
            }
            None => match starts {
                Some(region) => {
                    self.open = Some((line, region));
                    false
                }
                None => true,
            },
        }
    }

    pub(crate) fn finish(mut self) -> KeptLines {
        if let Some((first, _)) = self.open {
            self.kept.regions.push((first, usize::MAX));
        }
        self.kept
    }
}

/// For each rule, the last kept line it matches (0-based), if any.
pub(crate) struct Scan {
    pub(crate) last_match: Vec<Option<usize>>,
    pub(crate) kept: KeptLines,
}

impl RuleSet {
    pub fn classify(&self, data: &str, context_depth: usize) -> Option<Verdict> {
        let log = NormalizedLog::new(data);
        let scan = self.scan(&log);
        let (rule_index, line) = scan
            .last_match
            .iter()
            .enumerate()
            .find_map(|(i, l)| l.map(|l| (i, l)))?;
        Some(self.verdict(&log, &scan.kept, rule_index, line, context_depth))
    }

    /// Every rule's last match, in priority order.
    pub fn classify_all(&self, data: &str, context_depth: usize) -> Vec<Verdict> {
        let log = NormalizedLog::new(data);
        let scan = self.scan(&log);
        scan.last_match
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| self.verdict(&log, &scan.kept, i, l, context_depth)))
            .collect()
    }

    fn scan(&self, log: &NormalizedLog) -> Scan {
        let scanner = &self.scanner;
        let layout = scanner.layout;
        let mut last_match = vec![None; self.rules.len()];
        let mut regions = RegionTracker::default();
        let mut hits = vec![false; scanner.per_line.len()];
        let text = log.text();
        let mut at = 0;
        while log.line_count() > 0 && at <= text.len() {
            let Some(found) = scanner
                .candidates
                .search_half(&Input::new(text).range(at..))
            else {
                break;
            };
            let line = log.line_of_offset(found.offset());
            hits.fill(false);
            scanner
                .per_line
                .matches_read_at(&mut hits, log.line(line), 0);
            let ignored = hits[..layout.ignore_lines].iter().any(|&h| h);
            let starts = (0..layout.regions).find(|&r| hits[layout.region_start(r)]);
            if regions.feed(line, ignored, starts, |r| hits[layout.region_end(r)]) {
                for (rule, _) in hits[layout.first_rule()..]
                    .iter()
                    .enumerate()
                    .filter(|(_, &h)| h)
                {
                    last_match[rule] = Some(line);
                }
            }
            at = log.line_end(line) + 1;
        }
        Scan {
            last_match,
            kept: regions.finish(),
        }
    }

    pub(crate) fn verdict(
        &self,
        log: &NormalizedLog,
        kept: &KeptLines,
        rule_index: usize,
        line: usize,
        context_depth: usize,
    ) -> Verdict {
        let rule = &self.rules[rule_index];
        let text = log.line(line);
        let captures = rule.regex.captures(text).map_or_else(Vec::new, |caps| {
            if caps.len() == 1 {
                vec![caps[0].to_owned()]
            } else {
                caps.iter()
                    .skip(1)
                    .flatten()
                    .map(|m| m.as_str().to_owned())
                    .collect()
            }
        });
        let context = (0..=line)
            .rev()
            .filter(|&i| log.line(i).starts_with('+') && kept.is_kept(i))
            .take(context_depth)
            .map(|i| log.line(i).to_owned())
            .collect();
        Verdict {
            rule_index,
            rule: rule.name.clone(),
            line: text.to_owned(),
            line_num: line + 1,
            captures,
            context,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ruleset(rules: &[(&str, &str)]) -> RuleSet {
        let toml: String = rules
            .iter()
            .map(|(name, pattern)| {
                format!("[[rule]]\nname = '{name}'\npattern = '''{pattern}'''\n")
            })
            .collect();
        RuleSet::from_toml(&toml).unwrap()
    }

    #[test]
    fn highest_priority_rule_wins_at_its_last_line() {
        let rs = ruleset(&[("first", "^boom (\\w+)"), ("second", "^error")]);
        let v = rs
            .classify("error one\nboom a\nok\nboom b\nerror two\n", 12)
            .unwrap();
        assert_eq!(
            (v.rule.as_str(), v.line_num, v.captures.clone()),
            ("first", 4, vec!["b".to_owned()])
        );
        assert_eq!(v.line, "boom b");
    }

    #[test]
    fn no_group_captures_the_whole_match_and_absent_groups_are_skipped() {
        let rs = ruleset(&[("g", "x(a)?(b)"), ("whole", "^err.r")]);
        assert_eq!(rs.classify("xb\n", 12).unwrap().captures, ["b"]);
        assert_eq!(rs.classify("error here\n", 12).unwrap().captures, ["error"]);
    }

    #[test]
    fn classes_do_not_run_into_the_next_line() {
        let rs = ruleset(&[
            ("r", "^a\\s+b"),
            ("neg", "c[^x]d"),
            ("dot", "(?s)e.f"),
            ("anchor", "\\Ag\\z"),
        ]);
        assert_eq!(rs.classify("a\nb\nc\nd\ne\nf\n", 12), None);
        assert_eq!(rs.classify("zz\ng\nzz", 12).unwrap().line_num, 2);
    }

    #[test]
    fn ignored_lines_and_regions_do_not_match_but_keep_numbering() {
        let rs = ruleset(&[("exit", "exit code"), ("err", "^error")]);
        let log = "error a\n##[error]Process completed with exit code 1.\n\
                   =================== sccache compilation log ===================\nerror b\n\
                   =========== If your build fails, please take a look at the log above for possible reasons ===========\n\
                   fine\n";
        let v = rs.classify(log, 12).unwrap();
        assert_eq!((v.rule.as_str(), v.line_num), ("err", 1));
    }

    #[test]
    fn context_walks_back_over_kept_plus_lines() {
        let rs = ruleset(&[("err", "^error")]);
        let log = "+ one\n+ two\nmiddle\n+ three\nerror\n+ after\n";
        let v = rs.classify(log, 2).unwrap();
        assert_eq!(v.context, ["+ three", "+ two"]);
        let anywhere = ruleset(&[("err", "error")]);
        assert_eq!(
            anywhere.classify("+ error\n", 12).unwrap().context,
            ["+ error"]
        );
    }

    #[test]
    fn classify_all_lists_each_rule_once_in_priority_order() {
        let rs = ruleset(&[("a", "^a"), ("b", "^b"), ("c", "^c")]);
        let all = rs.classify_all("b1\na1\nb2\n", 12);
        let got: Vec<_> = all.iter().map(|v| (v.rule.as_str(), v.line_num)).collect();
        assert_eq!(got, [("a", 2), ("b", 3)]);
    }

    #[test]
    fn empty_log_and_empty_lines() {
        let rs = ruleset(&[("empty", "^$")]);
        assert_eq!(rs.classify("", 12), None);
        assert_eq!(rs.classify("x\n\ny\n", 12).unwrap().line_num, 2);
        assert_eq!(rs.classify("x\n", 12), None);
    }
}
