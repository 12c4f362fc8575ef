//! The naive scan the engine is measured against and checked with: every rule
//! walks every kept line, last line first (first line first for a rule that
//! takes its first match), until one matches. Same normalization, same ignore
//! handling, same verdict; only the matching differs.

use super::ignore::{KeptLines, RegionTracker};
use super::normalize::NormalizedLog;
use super::ruleset::{Occurrence, RuleSet};
use super::verdict::Verdict;

pub fn classify(rules: &RuleSet, data: &str, context_depth: usize) -> Option<Verdict> {
    let log = NormalizedLog::new(data);
    let mut regions = RegionTracker::default();
    let mut kept_lines = Vec::with_capacity(log.line_count());
    for line in 0..log.line_count() {
        let text = log.line(line);
        let ignored = rules.ignore_lines.iter().any(|p| p.regex().is_match(text));
        let starts = rules
            .ignore_regions
            .iter()
            .position(|r| r.start.regex().is_match(text));
        if regions.feed(line, ignored, starts, |r| {
            rules.ignore_regions[r].end.regex().is_match(text)
        }) {
            kept_lines.push(line);
        }
    }
    let kept = regions.finish();
    rules.rules.iter().enumerate().find_map(|(index, rule)| {
        let matches = |line: &&usize| rule.pattern.regex().is_match(log.line(**line));
        let line = *match rule.occurrence {
            Occurrence::Last => kept_lines.iter().rev().find(matches),
            Occurrence::First => kept_lines.iter().find(matches),
        }?;
        let context = context(&log, &kept, line, context_depth);
        Some(Verdict::new(
            rules,
            index,
            line,
            log.line(line).to_owned(),
            context,
        ))
    })
}

/// The kept lines starting with `+` from `line` back, nearest first.
fn context(log: &NormalizedLog, kept: &KeptLines, line: usize, depth: usize) -> Vec<String> {
    (0..=line)
        .rev()
        .filter(|&i| log.line(i).starts_with('+') && kept.is_kept(i))
        .take(depth)
        .map(|i| log.line(i).to_owned())
        .collect()
}
