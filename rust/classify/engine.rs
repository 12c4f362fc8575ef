//! Classification in one pass over the log as it came. Every pattern (ignore
//! lines, ignore regions and rules) contributes literals one of which each of
//! its matches must contain; a SIMD search for all of them, plus one
//! multi-pattern automaton for the patterns without such literals, finds the
//! candidate lines. Only those lines are normalized and checked pattern by
//! pattern, so a log where nothing matches is read once and never copied.
//!
//! Normalization only deletes a timestamp prefix, escape sequences and a final
//! `\r`. A line without escape sequences therefore holds its normalized text
//! as one piece and is found in place. Lines with escape sequences (which may
//! split a literal) are normalized into a side buffer that is searched the
//! same way.

use memchr::{memchr, memchr2, memrchr};
use regex::Regex;
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind};
use regex_syntax::hir::{Hir, Look, Repetition};

use super::confine::{confine_to_line, line_look};
use super::ignore::{KeptLines, RegionTracker};
use super::locator::{self, Baseline, Located};
use super::normalize::{self, TIMESTAMP_PATTERN};
use super::prefilter::{line_literals, LiteralSearch};
use super::ruleset::{one_line, Occurrence, Pattern, RuleSet};
use super::verdict::Verdict;
use crate::config;
use crate::error::{Error, Result};

pub mod survey;

/// A ruleset ready to classify: the rules as loaded, and the automata
/// compiled from them once.
#[derive(Debug)]
pub struct CompiledRuleSet {
    ruleset: RuleSet,
    scanner: Scanner,
}

/// The compiled automata shared by every classification with a ruleset.
#[derive(Debug)]
struct Scanner {
    /// Finds the literals required by the patterns that have some.
    literals: LiteralSearch,
    /// Finds lines where a pattern without required literals may match, over
    /// the raw log: it tolerates what normalization would delete.
    residual: Option<meta::Regex>,
    /// Tells which patterns match one candidate line.
    per_line: LineMatcher,
    layout: PatternLayout,
}

/// Which patterns match one candidate line. A set of all patterns at once is
/// slow on large rulesets (its automaton outgrows the lazy DFA's cache and
/// falls back to simulation), and a common literal can make most lines of a
/// log candidates. So the line is searched once for every pattern's required
/// literals, and only the patterns whose literal it holds (and those without
/// literals) are run, each by its own regex.
#[derive(Debug)]
struct LineMatcher {
    /// Every required literal, overlapping matches reported.
    literals: Option<aho_corasick::AhoCorasick>,
    /// For each literal of `literals`, the patterns that require it.
    owners: Vec<Vec<usize>>,
    /// Patterns without required literals: tried on every candidate line.
    without_literals: Vec<usize>,
    pattern_count: usize,
}

impl LineMatcher {
    fn new(literal_sets: &[Option<Vec<Vec<u8>>>]) -> Self {
        let mut ids: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
        let mut distinct: Vec<&[u8]> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut without_literals = Vec::new();
        for (pattern, set) in literal_sets.iter().enumerate() {
            let Some(set) = set else {
                without_literals.push(pattern);
                continue;
            };
            for literal in set {
                let id = *ids.entry(literal.as_slice()).or_insert_with(|| {
                    distinct.push(literal.as_slice());
                    owners.push(Vec::new());
                    distinct.len() - 1
                });
                if owners[id].last() != Some(&pattern) {
                    owners[id].push(pattern);
                }
            }
        }
        let literals = (!distinct.is_empty()).then(|| {
            aho_corasick::AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(&distinct)
                .expect("required literals are short and always fit an automaton")
        });
        Self {
            literals,
            owners,
            without_literals,
            pattern_count: literal_sets.len(),
        }
    }

    /// Sets `hits[i]` for each pattern `i` of `patterns` that matches `text`.
    fn matches(&self, patterns: &[&Pattern], text: &str, hits: &mut [bool], tried: &mut [bool]) {
        hits.fill(false);
        tried.fill(false);
        let mut run = |pattern: usize, hits: &mut [bool]| {
            if !std::mem::replace(&mut tried[pattern], true) {
                hits[pattern] = patterns[pattern].regex().is_match(text);
            }
        };
        for &pattern in &self.without_literals {
            run(pattern, hits);
        }
        if let Some(literals) = &self.literals {
            for found in literals.find_overlapping_iter(text) {
                for &pattern in &self.owners[found.pattern().as_usize()] {
                    run(pattern, hits);
                }
            }
        }
    }
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
    /// The automata of every pattern of `ruleset`, in the order of
    /// `RuleSet::patterns`.
    fn new(ruleset: &RuleSet) -> Result<Self> {
        let patterns: Vec<_> = ruleset.patterns().map(|(pattern, _)| pattern).collect();
        let literal_sets: Vec<_> = patterns.iter().map(|p| line_literals(p.hir())).collect();
        // Over the raw log, a pattern must tolerate what normalization deletes.
        let residual_hirs: Vec<Hir> = patterns
            .iter()
            .zip(&literal_sets)
            .filter(|(_, literals)| literals.is_none())
            .map(|(pattern, _)| confine_to_line(pattern.hir().clone(), &raw_line_look))
            .collect();
        let residual = if residual_hirs.is_empty() {
            None
        } else {
            Some(build_residual(&residual_hirs)?)
        };
        let per_line = LineMatcher::new(&literal_sets);
        let literals = LiteralSearch::new(literal_sets.into_iter().flatten());
        let layout = PatternLayout {
            ignore_lines: ruleset.ignore_lines.len(),
            regions: ruleset.ignore_regions.len(),
        };
        Ok(Self {
            literals,
            residual,
            per_line,
            layout,
        })
    }
}

fn too_big(err: impl std::fmt::Display) -> Error {
    Error::TooBig(format!(
        "the rules together are too large to compile: {err}"
    ))
}

fn build_residual(hirs: &[Hir]) -> Result<meta::Regex> {
    meta::Regex::builder()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .nfa_size_limit(Some(64 << 20))
                .hybrid_cache_capacity(64 << 20),
        )
        .syntax(syntax::Config::new())
        .build_many_from_hir(hirs)
        .map_err(too_big)
}

/// A line anchor as it must read on a raw line, where the normalized line may
/// sit after a timestamp and before a `\r`. Other assertions see the same on
/// both sides (a timestamp ends with a space, `\r` is no word character).
fn raw_line_look(look: Look) -> Hir {
    let optional = |hir: Hir| {
        Hir::repetition(Repetition {
            min: 0,
            max: Some(1),
            greedy: true,
            sub: Box::new(hir),
        })
    };
    let timestamp = || {
        regex_syntax::Parser::new()
            .parse(TIMESTAMP_PATTERN)
            .expect("valid timestamp pattern")
    };
    match line_look(look) {
        start @ (Look::StartLF | Look::StartCRLF) => {
            Hir::concat(vec![Hir::look(start), optional(timestamp())])
        }
        Look::EndLF => Hir::concat(vec![optional(Hir::literal(*b"\r")), Hir::look(Look::EndLF)]),
        other => Hir::look(other),
    }
}

/// A line of the raw log: its 0-based number and the offset of its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct LineRef {
    index: usize,
    start: usize,
}

/// For each rule, the kept line it names, if it matches any: its last match,
/// or its first for a rule that takes its first (`Occurrence`).
struct Scan {
    matched: Vec<Option<LineRef>>,
    kept: KeptLines,
}

/// One of the searches whose hits make a line a candidate.
#[derive(Debug, Clone, Copy)]
enum HitSource {
    /// A batch of the required literals.
    Literals(usize),
    /// The automaton of the patterns without required literals.
    Residual,
    /// The first byte of an escape sequence: such a line must be normalized
    /// before it can be searched.
    Escape,
}

/// Lines with escape sequences, normalized one after the other, each ended by
/// `\n`, so that they can be searched like the raw log.
#[derive(Debug, Default)]
struct EscapedLines {
    text: String,
    starts: Vec<usize>,
    lines: Vec<LineRef>,
}

impl EscapedLines {
    fn push(&mut self, raw: &str, line: LineRef) {
        self.starts.push(self.text.len());
        self.lines.push(line);
        normalize::push_normalized_line(raw, line.start, &mut self.text);
        self.text.push('\n');
    }

    fn line_at(&self, offset: usize) -> LineRef {
        self.lines[self.starts.partition_point(|&start| start <= offset) - 1]
    }
}

impl Scanner {
    fn sources(&self, with_escapes: bool) -> Vec<HitSource> {
        let literals = (0..self.literals.batch_count()).map(HitSource::Literals);
        let residual = self.residual.is_some().then_some(HitSource::Residual);
        let escapes = with_escapes.then_some(HitSource::Escape);
        literals.chain(residual).chain(escapes).collect()
    }

    fn find(&self, source: HitSource, text: &[u8], at: usize) -> Option<usize> {
        match source {
            HitSource::Literals(batch) => self.literals.find_in_batch(batch, text, at),
            HitSource::Residual => self
                .residual
                .as_ref()?
                .search_half(&Input::new(text).range(at..))
                .map(|found| found.offset()),
            HitSource::Escape => memchr2(0x1B, 0xC2, &text[at..]).map(|i| at + i),
        }
    }

    /// Calls `found` with the start and end of each line of `text` (lines
    /// ended by `\n`) where any of `sources` hits, once per line, in order.
    fn for_each_hit_line(
        &self,
        text: &[u8],
        sources: &[HitSource],
        mut found: impl FnMut(usize, usize),
    ) {
        // Each source's next hit at or after where it last searched
        // (`usize::MAX`: none left), so that none searches the same bytes twice.
        let mut next: Vec<Option<usize>> = vec![None; sources.len()];
        let mut at = 0;
        while at <= text.len() {
            let hit = sources
                .iter()
                .zip(&mut next)
                .map(|(&source, cached)| match *cached {
                    Some(hit) if hit >= at => hit,
                    _ => *cached.insert(self.find(source, text, at).unwrap_or(usize::MAX)),
                })
                .min()
                .unwrap_or(usize::MAX);
            // An empty match after the final `\n` is on no line.
            let past_last_line = hit == text.len() && matches!(text.last(), None | Some(b'\n'));
            if hit == usize::MAX || past_last_line {
                return;
            }
            let start = memrchr(b'\n', &text[..hit]).map_or(0, |i| i + 1);
            let end = memchr(b'\n', &text[hit..]).map_or(text.len(), |i| hit + i);
            found(start, end);
            at = end + 1;
        }
    }

    /// The lines of `raw` where some pattern may match, in order. A large log
    /// is cut at line boundaries into one piece per thread; the pieces are
    /// searched at once and their line numbers joined up afterwards.
    fn candidate_lines(&self, raw: &str, threads: usize) -> Vec<LineRef> {
        let pieces = split_at_lines(raw, threads);
        if let [whole] = pieces.as_slice() {
            return self.candidate_lines_in(whole).0;
        }
        let found: Vec<(Vec<LineRef>, usize)> = std::thread::scope(|scope| {
            let searches: Vec<_> = pieces
                .iter()
                .map(|piece| scope.spawn(|| self.candidate_lines_in(piece)))
                .collect();
            searches
                .into_iter()
                .map(|search| search.join().expect("a candidate search panicked"))
                .collect()
        });
        let mut candidates = Vec::new();
        let (mut first_line, mut first_byte) = (0, 0);
        for ((lines, line_count), piece) in found.into_iter().zip(&pieces) {
            candidates.extend(lines.into_iter().map(|line| LineRef {
                index: first_line + line.index,
                start: first_byte + line.start,
            }));
            first_line += line_count;
            first_byte += piece.len();
        }
        candidates
    }

    /// The candidate lines of one piece (whole lines), in order, and how many
    /// lines the piece has.
    fn candidate_lines_in(&self, raw: &str) -> (Vec<LineRef>, usize) {
        let bytes = raw.as_bytes();
        let mut candidates = Vec::new();
        let mut escaped = EscapedLines::default();
        let mut counted = LineRef { index: 0, start: 0 };
        self.for_each_hit_line(bytes, &self.sources(true), |start, end| {
            counted = LineRef {
                index: counted.index + count_newlines(&bytes[counted.start..start]),
                start,
            };
            if memchr2(0x1B, 0xC2, &bytes[start..end]).is_some() {
                escaped.push(raw, counted);
            } else {
                candidates.push(counted);
            }
        });
        self.for_each_hit_line(escaped.text.as_bytes(), &self.sources(false), |start, _| {
            candidates.push(escaped.line_at(start));
        });
        candidates.sort_unstable();
        let line_count = counted.index + count_newlines(&bytes[counted.start..]);
        (candidates, line_count)
    }
}

/// Below this, a second thread costs more than it saves.
const MIN_BYTES_PER_THREAD: usize = 8 << 20;

/// How many of `threads` search a log of `len` bytes: never more than the
/// log has `MIN_BYTES_PER_THREAD` pieces.
fn search_threads(threads: usize, len: usize) -> usize {
    threads.clamp(1, (len / MIN_BYTES_PER_THREAD).max(1))
}

/// How one classification runs.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// At most this many `+` lines of context.
    pub context_depth: usize,
    /// Threads that may search a large log.
    pub threads: usize,
    /// A passing run of the same job: with a `[fallback]` table, its lines
    /// are neither located nor let a wrapper or catch-all rule win.
    pub baseline: Option<&'a Baseline>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            context_depth: config::DEFAULT_CONTEXT_DEPTH,
            threads: config::threads(),
            baseline: None,
        }
    }
}

/// `raw` cut into about `count` pieces of whole lines (the last one may lack
/// its final `\n`, as the log may).
fn split_at_lines(raw: &str, count: usize) -> Vec<&str> {
    let mut pieces = Vec::with_capacity(count);
    let mut rest = raw;
    for remaining in (2..=count).rev() {
        let target = rest.len() / remaining;
        match memchr(b'\n', &rest.as_bytes()[target..]) {
            Some(newline) => {
                let (piece, tail) = rest.split_at(target + newline + 1);
                pieces.push(piece);
                rest = tail;
            }
            None => break,
        }
    }
    pieces.push(rest);
    pieces
}

fn count_newlines(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

/// The lines of `raw` from `line` back to the first, nearest first.
fn lines_back(raw: &str, line: LineRef) -> impl Iterator<Item = LineRef> + '_ {
    std::iter::successors(Some(line), |line| {
        (line.start > 0).then(|| LineRef {
            index: line.index - 1,
            start: memrchr(b'\n', &raw.as_bytes()[..line.start - 1]).map_or(0, |i| i + 1),
        })
    })
}

fn normalized_line(raw: &str, line: LineRef) -> String {
    let mut text = String::new();
    normalize::push_normalized_line(raw, line.start, &mut text);
    text
}

impl CompiledRuleSet {
    /// Compiles the automata of `ruleset`.
    pub fn new(ruleset: RuleSet) -> Result<Self> {
        let scanner = Scanner::new(&ruleset).map_err(|err| culprit(&ruleset).unwrap_or(err))?;
        Ok(Self { ruleset, scanner })
    }

    pub fn from_toml(text: &str) -> Result<Self> {
        Self::new(RuleSet::from_toml(text)?)
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        Self::new(RuleSet::from_file(path)?)
    }

    pub fn ruleset(&self) -> &RuleSet {
        &self.ruleset
    }

    /// The highest-priority rule that matches a kept line, at the last line
    /// it matches (the first, for a rule that takes its first). With a `[fallback]` table, when no rule matches or the
    /// winner is a wrapper or catch-all, the locator's line instead if it
    /// scores at least `min_score`; a wrapper's or catch-all's line that the
    /// baseline also prints does not win.
    pub fn classify(&self, data: &str, options: Options) -> Option<Verdict> {
        self.decide(data, &self.scan(data, options.threads), options)
    }

    /// The verdict `classify` reaches from the scan of `data`.
    fn decide(&self, data: &str, scan: &Scan, options: Options) -> Option<Verdict> {
        let mut matches = scan
            .matched
            .iter()
            .enumerate()
            .filter_map(|(i, l)| l.map(|l| (i, l)));
        let verdict = |(rule_index, line)| {
            self.verdict(data, &scan.kept, rule_index, line, options.context_depth)
        };
        let Some(fallback) = &self.ruleset.fallback else {
            return matches.next().map(verdict);
        };
        let yields = |rule_index: usize| fallback.yields(&self.ruleset.rules[rule_index].name);
        let winner = matches.find(|&(rule_index, line)| {
            !(yields(rule_index)
                && options
                    .baseline
                    .is_some_and(|b| b.contains(&normalized_line(data, line))))
        });
        if let Some(found) = winner.filter(|&(rule_index, _)| !yields(rule_index)) {
            return Some(verdict(found));
        }
        // On the line the rule already names, the rule's captures say more.
        let elsewhere =
            |located: &Located| winner.map_or(true, |(_, line)| line.index != located.line);
        match locator::locate(data, &scan.kept, options.baseline) {
            Some(located) if located.score >= fallback.min_score && elsewhere(&located) => {
                Some(self.located_verdict(data, &scan.kept, located, options.context_depth))
            }
            _ => winner.map(verdict),
        }
    }

    /// The verdict of `rule` at 0-based `line`, a line another judge (a
    /// language model) named: the line as the engine reads it, its stable
    /// part as the one capture, its shell-trace context, and `score`. `None`
    /// when the log has no such line, the line is blank, or an `[ignore]`
    /// pattern drops it: only a kept line can be a verdict.
    pub fn verdict_at(
        &self,
        data: &str,
        line: usize,
        rule: &str,
        score: f64,
        options: Options,
    ) -> Option<Verdict> {
        let start = match line {
            0 => 0,
            _ => memchr::memchr_iter(b'\n', data.as_bytes()).nth(line - 1)? + 1,
        };
        if start >= data.len() {
            return None;
        }
        let line_ref = LineRef { index: line, start };
        let text = normalized_line(data, line_ref);
        let kept = self.scan(data, options.threads).kept;
        if text.trim().is_empty() || !kept.is_kept(line) {
            return None;
        }
        Some(Verdict {
            rule: rule.to_owned(),
            captures: vec![locator::stable_text(&text)],
            line: text,
            line_num: line + 1,
            context: context(data, &kept, line_ref, options.context_depth),
            score,
        })
    }

    /// Every rule's match (its last, or its first for a rule that takes its
    /// first), in priority order.
    pub fn match_per_rule(&self, data: &str, options: Options) -> Vec<Verdict> {
        let scan = self.scan(data, options.threads);
        scan.matched
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                l.map(|l| self.verdict(data, &scan.kept, i, l, options.context_depth))
            })
            .collect()
    }

    fn scan(&self, raw: &str, threads: usize) -> Scan {
        let scanner = &self.scanner;
        let layout = scanner.layout;
        let mut matched: Vec<Option<LineRef>> = vec![None; self.ruleset.rules.len()];
        let mut regions = RegionTracker::default();
        let patterns: Vec<&Pattern> = self.ruleset.patterns().map(|(p, _)| p).collect();
        let mut hits = vec![false; scanner.per_line.pattern_count];
        let mut tried = hits.clone();
        let mut text = String::new();
        for line in scanner.candidate_lines(raw, search_threads(threads, raw.len())) {
            text.clear();
            normalize::push_normalized_line(raw, line.start, &mut text);
            scanner
                .per_line
                .matches(&patterns, &text, &mut hits, &mut tried);
            let ignored = hits[..layout.ignore_lines].iter().any(|&h| h);
            let starts = (0..layout.regions).find(|&r| hits[layout.region_start(r)]);
            if regions.feed(line.index, ignored, starts, |r| hits[layout.region_end(r)]) {
                for (rule, _) in hits[layout.first_rule()..]
                    .iter()
                    .enumerate()
                    .filter(|(_, &h)| h)
                {
                    // Candidate lines come in line order.
                    let takes_first = self.ruleset.rules[rule].occurrence == Occurrence::First;
                    if !(takes_first && matched[rule].is_some()) {
                        matched[rule] = Some(line);
                    }
                }
            }
        }
        Scan {
            matched,
            kept: regions.finish(),
        }
    }

    /// The verdict of a rule at `line`, its context read back from the raw log.
    fn verdict(
        &self,
        raw: &str,
        kept: &KeptLines,
        rule_index: usize,
        line: LineRef,
        context_depth: usize,
    ) -> Verdict {
        Verdict::new(
            &self.ruleset,
            rule_index,
            line.index,
            normalized_line(raw, line),
            context(raw, kept, line, context_depth),
        )
    }

    /// The locator's verdict: its captures are the line's stable part.
    fn located_verdict(
        &self,
        raw: &str,
        kept: &KeptLines,
        located: Located,
        context_depth: usize,
    ) -> Verdict {
        let line = LineRef {
            index: located.line,
            start: located.start,
        };
        Verdict {
            rule: LOCATED_RULE.to_owned(),
            line: located.text,
            line_num: located.line + 1,
            captures: vec![located.stable],
            context: context(raw, kept, line, context_depth),
            score: located.score,
        }
    }
}

/// The rule name of a verdict the locator reached.
pub const LOCATED_RULE: &str = "located failure";

/// The kept lines starting with `+` (shell trace) from `line` back, nearest
/// first, read back from the raw log.
fn context(raw: &str, kept: &KeptLines, line: LineRef, depth: usize) -> Vec<String> {
    lines_back(raw, line)
        .filter(|l| kept.is_kept(l.index) && normalize::normalized_starts_with(raw, l.start, '+'))
        .take(depth)
        .map(|l| normalized_line(raw, l))
        .collect()
}

/// When the combined automata do not compile, the pattern that is too large
/// on its own, named; `None` when only their sum is too large.
fn culprit(ruleset: &RuleSet) -> Option<Error> {
    ruleset.patterns().find_map(|(pattern, what)| {
        Regex::new(pattern.as_str())
            .err()
            .map(|err| Error::BadPattern {
                what,
                reason: one_line(&err.to_string()),
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(context_depth: usize) -> Options<'static> {
        Options {
            context_depth,
            ..Options::default()
        }
    }

    fn ruleset(rules: &[(&str, &str)]) -> CompiledRuleSet {
        let toml: String = rules
            .iter()
            .map(|(name, pattern)| {
                format!("[[rule]]\nname = '{name}'\npattern = '''{pattern}'''\n")
            })
            .collect();
        CompiledRuleSet::from_toml(&toml).unwrap()
    }

    #[test]
    fn highest_priority_rule_wins_at_its_last_line() {
        let rs = ruleset(&[("first", "^boom (\\w+)"), ("second", "^error")]);
        let v = rs
            .classify(
                "error one\nboom a\nok\nboom b\nerror two\n",
                Options::default(),
            )
            .unwrap();
        assert_eq!(
            (v.rule.as_str(), v.line_num, v.captures.clone()),
            ("first", 4, vec!["b".to_owned()])
        );
        assert_eq!(v.line, "boom b");
    }

    #[test]
    fn a_rule_that_takes_its_first_match_names_its_first_line() {
        let toml = "[[rule]]\nname = 'compile'\npattern = '^error: (\\w+)'\noccurrence = 'first'\n\
                    [[rule]]\nname = 'test'\npattern = '^FAIL (\\w+)'\n";
        let rs = CompiledRuleSet::from_toml(toml).unwrap();
        let log = "FAIL a\nerror: x\nerror: y\nok\nFAIL b\n";
        let v = rs.classify(log, Options::default()).unwrap();
        assert_eq!((v.rule.as_str(), v.line_num), ("compile", 2));
        let all: Vec<_> = rs
            .match_per_rule(log, Options::default())
            .into_iter()
            .map(|v| (v.rule, v.line_num))
            .collect();
        assert_eq!(all, [("compile".to_owned(), 2), ("test".to_owned(), 5)]);
        // Searched in pieces on two threads, the first is still the first.
        let long = format!("{log}{}{}", "ok\n".repeat(6 << 20), "error: z\n".repeat(3));
        assert_eq!(search_threads(2, long.len()), 2);
        let threads = Options {
            threads: 2,
            ..Options::default()
        };
        assert_eq!(rs.classify(&long, threads).unwrap().line_num, 2);
    }

    #[test]
    fn a_verdict_at_a_named_line_is_only_for_a_kept_line() {
        let toml = "[[rule]]\nname = 'a'\npattern = 'never'\n\
                    [ignore]\nlines = ['^noise']\nregions = []\n";
        let rs = CompiledRuleSet::from_toml(toml).unwrap();
        let log = "+ make test\nnoise 1\n\nerror: disk 42 full at /tmp/x\nend";
        let v = rs
            .verdict_at(log, 3, "judge", 0.5, Options::default())
            .unwrap();
        assert_eq!(
            (v.rule.as_str(), v.line_num, v.line.as_str(), v.score),
            ("judge", 4, "error: disk 42 full at /tmp/x", 0.5)
        );
        assert_eq!(v.context, ["+ make test"]);
        assert_eq!(v.captures.len(), 1);
        assert_eq!(
            rs.verdict_at(log, 4, "judge", 0.5, Options::default())
                .unwrap()
                .line,
            "end"
        );
        // Dropped, blank, and past the end.
        for line in [1, 2, 5, 99] {
            assert!(rs
                .verdict_at(log, line, "judge", 0.5, Options::default())
                .is_none());
        }
    }

    #[test]
    fn no_group_captures_the_whole_match_and_absent_groups_are_skipped() {
        let rs = ruleset(&[("g", "x(a)?(b)"), ("whole", "^err.r")]);
        assert_eq!(
            rs.classify("xb\n", Options::default()).unwrap().captures,
            ["b"]
        );
        assert_eq!(
            rs.classify("error here\n", Options::default())
                .unwrap()
                .captures,
            ["error"]
        );
    }

    #[test]
    fn classes_do_not_run_into_the_next_line() {
        let rs = ruleset(&[
            ("r", "^a\\s+b"),
            ("neg", "c[^x]d"),
            ("dot", "(?s)e.f"),
            ("anchor", "\\Ag\\z"),
        ]);
        assert_eq!(rs.classify("a\nb\nc\nd\ne\nf\n", Options::default()), None);
        assert_eq!(
            rs.classify("zz\ng\nzz", Options::default())
                .unwrap()
                .line_num,
            2
        );
    }

    #[test]
    fn ignored_lines_and_regions_do_not_match_but_keep_numbering() {
        let rs = ruleset(&[("exit", "exit code"), ("err", "^error")]);
        let log = "error a\n##[error]Process completed with exit code 1.\n\
                   =================== sccache compilation log ===================\nerror b\n\
                   =========== If your build fails, please take a look at the log above for possible reasons ===========\n\
                   fine\n";
        let v = rs.classify(log, Options::default()).unwrap();
        assert_eq!((v.rule.as_str(), v.line_num), ("err", 1));
    }

    #[test]
    fn context_walks_back_over_kept_plus_lines() {
        let rs = ruleset(&[("err", "^error")]);
        let log = "+ one\n+ two\nmiddle\n+ three\nerror\n+ after\n";
        let v = rs.classify(log, depth(2)).unwrap();
        assert_eq!(v.context, ["+ three", "+ two"]);
        let anywhere = ruleset(&[("err", "error")]);
        assert_eq!(
            anywhere
                .classify("+ error\n", Options::default())
                .unwrap()
                .context,
            ["+ error"]
        );
    }

    #[test]
    fn match_per_rule_lists_each_rule_once_in_priority_order() {
        let rs = ruleset(&[("a", "^a"), ("b", "^b"), ("c", "^c")]);
        let all = rs.match_per_rule("b1\na1\nb2\n", Options::default());
        let got: Vec<_> = all.iter().map(|v| (v.rule.as_str(), v.line_num)).collect();
        assert_eq!(got, [("a", 2), ("b", 3)]);
    }

    #[test]
    fn raw_lines_are_matched_through_timestamps_carriage_returns_and_escapes() {
        // `count` and `dash` have no required literal, so the residual automaton
        // finds them in the raw log; `split` is a literal cut by escapes.
        let rs = ruleset(&[
            ("count", r"^\d+ \w+$"),
            ("dash", r"^\d+-\w+$"),
            ("split", "^FAILED test"),
        ]);
        let ts = "2024-07-08T16:59:08.1747875Z ";
        let log = format!(
            "{ts}x 3 errors\r\n{ts}3 errors\r\n{ts}\x1b[31mFAIL\x1b[0mED test_a\r\n\
             {ts}ok\n12-ab\n{ts}\x1b[1m7 done\n"
        );
        let all = rs.match_per_rule(&log, Options::default());
        let got: Vec<_> = all.iter().map(|v| (v.rule.as_str(), v.line_num)).collect();
        assert_eq!(got, [("count", 6), ("dash", 5), ("split", 3)]);
        assert_eq!(all[2].line, "FAILED test_a");
    }

    #[test]
    fn context_is_read_back_from_the_raw_log() {
        let rs = ruleset(&[("err", "^error")]);
        let ts = "2024-07-08T16:59:08.1747875Z ";
        let log = format!("{ts}+ one\n{ts}\x1b[36m+ two\x1b[0m\nx+\n{ts}error\n");
        let v = rs.classify(&log, Options::default()).unwrap();
        assert_eq!(
            (v.line_num, v.context),
            (4, vec!["+ two".to_owned(), "+ one".to_owned()])
        );
    }

    #[test]
    fn pieces_searched_on_threads_give_the_lines_of_one_search() {
        let rs = ruleset(&[("err", "^error (\\d+)"), ("esc", "boom")]);
        let mut log = String::new();
        for i in 0..500 {
            log.push_str(match i % 7 {
                0 => "error 1\n",
                3 => "\x1b[31mbo\x1b[0mom\n",
                5 => "\n",
                _ => "2024-01-01T00:00:00.0000000Z fine\r\n",
            });
        }
        let one = rs.scanner.candidate_lines(&log, 1);
        assert!(!one.is_empty());
        for threads in [2, 3, 7, 64] {
            assert_eq!(
                rs.scanner.candidate_lines(&log, threads),
                one,
                "{threads} threads"
            );
        }
        assert_eq!(split_at_lines("a\nb\nc", 5).concat(), "a\nb\nc");
        assert_eq!(split_at_lines("", 3), [""]);
    }

    #[test]
    fn a_pattern_too_large_to_compile_is_named() {
        let err = CompiledRuleSet::from_toml("[[rule]]\nname = 'ok'\npattern = 'x'\n[[rule]]\nname = 'huge'\npattern = '\\w{500}{500}'\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(r#"invalid ruleset: rule 1 ("huge"): "#),
            "{err}"
        );
        assert!(!err.contains('\n'));
    }

    fn with_fallback(rules: &str) -> CompiledRuleSet {
        CompiledRuleSet::from_toml(&format!(
            "{rules}[fallback]\nenabled = true\nwrappers = ['make']\ncatch_alls = ['gha']\nmin_score = 0.5\n"
        ))
        .unwrap()
    }

    const RULES: &str = "[[rule]]\nname = 'cc'\npattern = ': error: '\n\
                         [[rule]]\nname = 'make'\npattern = '^make: \\*\\*\\*'\n\
                         [[rule]]\nname = 'gha'\npattern = '^##\\[error\\](.*)'\n";

    #[test]
    fn a_wrapper_or_catch_all_gives_way_to_the_located_line() {
        let rs = with_fallback(RULES);
        let log = "+ make\nld: cannot find -lz\nmake: *** [all] Error 1\n\
                   ##[error]Process completed with exit code 2.\n";
        let v = rs.classify(log, Options::default()).unwrap();
        assert_eq!((v.rule.as_str(), v.line_num), (LOCATED_RULE, 2));
        assert_eq!(
            (v.captures, v.context),
            (
                vec!["ld: cannot find -lz".to_owned()],
                vec!["+ make".to_owned()]
            )
        );
        let specific = rs
            .classify(&format!("a.c:1:1: error: x\n{log}"), Options::default())
            .unwrap();
        assert_eq!((specific.rule.as_str(), specific.score), ("cc", 1.0));
        // The catch-all's own line: the rule's captures stay.
        let same = rs
            .classify("##[error]Unable to fetch: denied\n", Options::default())
            .unwrap();
        assert_eq!(
            (same.rule.as_str(), same.captures),
            ("gha", vec!["Unable to fetch: denied".to_owned()])
        );
    }

    #[test]
    fn a_wrapper_line_the_baseline_prints_does_not_win() {
        let rs = with_fallback(RULES);
        let log = "##[error]Node 16 is deprecated\nnothing else\n";
        let baseline = Baseline::new("##[error]Node 16 is deprecated\n");
        let options = Options {
            baseline: Some(&baseline),
            ..Options::default()
        };
        assert_eq!(rs.classify(log, options), None);
        assert_eq!(rs.classify(log, Options::default()).unwrap().rule, "gha");
    }

    #[test]
    fn empty_log_and_empty_lines() {
        let rs = ruleset(&[("empty", "^$")]);
        assert_eq!(rs.classify("", Options::default()), None);
        assert_eq!(
            rs.classify("x\n\ny\n", Options::default())
                .unwrap()
                .line_num,
            2
        );
        assert_eq!(rs.classify("x\n", Options::default()), None);
    }
}
